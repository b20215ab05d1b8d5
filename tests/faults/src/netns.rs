//! Network namespaces for impairment tests: one namespace joined to the host by a veth
//! pair (the impairment itself is [`crate::impair`], as this kernel has no `tc netem`).
//! Names are unique per run (process id and a counter) and everything is deleted on drop,
//! on success or panic alike.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A namespace `name` with a veth pair: `host_ip` on the host end, `ns_ip` inside.
#[derive(Debug)]
pub struct NetNs {
    /// The namespace name (for `ip netns exec`).
    pub name: String,
    host_dev: String,
    /// Address of the host end.
    pub host_ip: IpAddr,
    /// Address inside the namespace.
    pub ns_ip: IpAddr,
}

fn run(args: &[&str]) -> Result<(), String> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("cannot run {}: {e} (is iproute2 installed?)", args[0]))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl NetNs {
    /// Creates the namespace and the veth pair, addresses them and brings them up.
    ///
    /// # Errors
    /// A sentence saying what is missing (root, iproute2, kernel support).
    pub fn create() -> Result<Self, String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Interface names are at most 15 bytes.
        let tag = format!("{:x}{n}", pid % 0xfffff);
        let subnet = 100 + u8::try_from((pid + n) % 100).unwrap_or(0);
        let ns = Self {
            name: format!("sealcam-ft-{pid}-{n}"),
            host_dev: format!("sch{tag}"),
            host_ip: IpAddr::V4(Ipv4Addr::new(10, 231, subnet, 1)),
            ns_ip: IpAddr::V4(Ipv4Addr::new(10, 231, subnet, 2)),
        };
        let ns_dev = format!("scn{tag}");
        // From here on, Drop cleans up whatever was created.
        run(&["ip", "netns", "add", &ns.name])?;
        run(&[
            "ip",
            "link",
            "add",
            &ns.host_dev,
            "type",
            "veth",
            "peer",
            "name",
            &ns_dev,
        ])?;
        run(&["ip", "link", "set", &ns_dev, "netns", &ns.name])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.host_ip),
            "dev",
            &ns.host_dev,
        ])?;
        run(&["ip", "link", "set", &ns.host_dev, "up"])?;
        let inside = |args: &[&str]| {
            let mut full = vec!["ip", "netns", "exec", ns.name.as_str()];
            full.extend_from_slice(args);
            run(&full)
        };
        inside(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", ns.ns_ip),
            "dev",
            &ns_dev,
        ])?;
        inside(&["ip", "link", "set", &ns_dev, "up"])?;
        inside(&["ip", "link", "set", "lo", "up"])?;
        // The host is the namespace's gateway, as a home router would be. Without any
        // route, joining a multicast group fails (ENODEV) and webrtc-rs cannot set up its
        // mDNS socket, so no peer connection could even be created in here.
        inside(&[
            "ip",
            "route",
            "add",
            "default",
            "via",
            &ns.host_ip.to_string(),
        ])?;
        Ok(ns)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Deleting the namespace deletes the inside end, which deletes the pair.
        let _ = run(&["ip", "netns", "delete", &self.name]);
        let _ = run(&["ip", "link", "delete", &self.host_dev]);
    }
}
