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

/// A `10.231.X.0/24` that no host interface uses, trying X = 100..=199 from a point
/// derived from `seed`. Two links on one subnet would make the host route the namespace's
/// traffic to whichever it found first (a veth left by a killed run, say), and the test
/// would fail for a reason that has nothing to do with it.
fn free_subnet(seed: u32) -> Result<u8, String> {
    let output = Command::new("ip")
        .args(["-o", "-4", "addr", "show"])
        .output()
        .map_err(|e| format!("cannot run ip: {e} (is iproute2 installed?)"))?;
    let in_use = String::from_utf8_lossy(&output.stdout);
    (0..100)
        .map(|i| 100 + ((seed + i) % 100) as u8)
        .find(|x| !in_use.contains(&format!(" 10.231.{x}.")))
        .ok_or_else(|| {
            "every 10.231.100-199.0/24 subnet is in use: delete leftover test namespaces \
             (`ip netns list`, `ip netns delete NAME`) and their sch* links"
                .to_string()
        })
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
        let subnet = free_subnet(pid + n)?;
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

#[cfg(test)]
mod tests {
    use super::{free_subnet, run};

    /// Removes the probe address even when an assertion fails.
    struct Probe(String);

    impl Drop for Probe {
        fn drop(&mut self) {
            let _ = run(&["ip", "addr", "del", &self.0, "dev", "lo"]);
        }
    }

    #[test]
    fn a_subnet_a_host_interface_already_uses_is_skipped() {
        let seed = std::process::id();
        let first = free_subnet(seed).expect("a free subnet");
        let address = format!("10.231.{first}.1/32");
        run(&["ip", "addr", "add", &address, "dev", "lo"])
            .expect("this test needs root, as the namespace test does");
        let _probe = Probe(address);
        let second = free_subnet(seed).expect("another free subnet");
        assert_ne!(second, first, "10.231.{first}.0/24 is taken by lo now");
        assert!((100..=199).contains(&second));
    }
}
