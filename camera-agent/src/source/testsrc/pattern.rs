//! The synthetic picture: large flat colour regions a test can check after decoding, a box
//! that moves a fixed number of pixels per frame, and a strip of black/white cells that
//! carries a magic number, the frame counter and the capture time in microseconds.
//!
//! Layout (I420, BT.601 limited range, everything aligned to 16-pixel macroblocks so
//! regions never share a macroblock with the strip):
//!
//! ```text
//! +---------------------------------------+
//! | strip: 112 bits, 8x8-pixel cells      |  rows 0 .. strip_height
//! +-------------------+-------------------+
//! |       red         |      green        |  upper half of the rest
//! +-------------------+-------------------+
//! |  blue, with a yellow box moving right |  lower half of the rest
//! +---------------------------------------+
//! ```
//!
//! Cells are far larger than H.264's quantisation error, so the strip reads back exactly
//! from the decoded picture: that is how a viewer measures capture-to-display latency.

/// A colour as limited-range Y, U (Cb), V (Cr).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Yuv(pub u8, pub u8, pub u8);

/// Red region (upper left).
pub const RED: Yuv = Yuv(81, 90, 240);
/// Green region (upper right).
pub const GREEN: Yuv = Yuv(145, 54, 34);
/// Blue band (bottom).
pub const BLUE: Yuv = Yuv(41, 240, 110);
/// The moving box.
pub const YELLOW: Yuv = Yuv(210, 16, 146);

const CELL: usize = 8;
const MAGIC: u16 = 0x5ea1;
const STRIP_BITS: usize = 16 + 32 + 64;
const BIT_ONE: u8 = 235;
const BIT_ZERO: u8 = 16;
/// Box speed in pixels per frame (even, so chroma stays aligned).
const BOX_SPEED: usize = 4;

/// What the strip carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StripData {
    /// Frame counter (wraps at 2^32).
    pub frame: u32,
    /// Capture time, microseconds since the Unix epoch.
    pub captured_us: u64,
}

/// A point whose colour a decoder must reproduce, with the colour expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Column.
    pub x: usize,
    /// Row.
    pub y: usize,
    /// Expected colour.
    pub colour: Yuv,
}

/// Geometry of the pattern for one picture size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestPattern {
    width: usize,
    height: usize,
    strip_height: usize,
}

fn align16(v: usize) -> usize {
    v.div_ceil(16) * 16
}

impl TestPattern {
    /// Pattern for `width` x `height` (both even, at least 64).
    pub fn new(width: usize, height: usize) -> Self {
        let cells_per_row = (width / CELL).max(1);
        let strip_height = align16(STRIP_BITS.div_ceil(cells_per_row) * CELL);
        Self {
            width,
            height,
            strip_height,
        }
    }

    /// Height of the strip (a multiple of 16).
    pub fn strip_height(&self) -> usize {
        self.strip_height
    }

    fn split_row(&self) -> usize {
        self.strip_height + align16((self.height - self.strip_height) / 2)
    }

    fn box_size(&self) -> usize {
        (((self.height - self.split_row()) / 2).min(self.width / 4) / 2 * 2).max(2)
    }

    /// Left edge of the moving box in `frame`.
    pub fn box_x(&self, frame: u64) -> usize {
        let travel = (self.width - self.box_size()) / BOX_SPEED;
        let step = usize::try_from(frame % (travel.max(1) as u64)).unwrap_or(0);
        step * BOX_SPEED
    }

    fn box_top(&self) -> usize {
        (self.split_row() + (self.height - self.split_row() - self.box_size()) / 2) / 2 * 2
    }

    /// The colour of pixel (x, y), strip excluded.
    fn colour_at(&self, x: usize, y: usize, frame: u64) -> Yuv {
        let (bx, by, size) = (self.box_x(frame), self.box_top(), self.box_size());
        if y >= self.split_row() {
            if (bx..bx + size).contains(&x) && (by..by + size).contains(&y) {
                YELLOW
            } else {
                BLUE
            }
        } else if x < self.width / 2 {
            RED
        } else {
            GREEN
        }
    }

    /// Renders one I420 picture (Y plane, then U, then V).
    pub fn render(&self, frame: u64, captured_us: u64) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0u8; w * h * 3 / 2];
        let (y_plane, chroma) = out.split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
        for y in 0..h {
            for x in 0..w {
                y_plane[y * w + x] = if y < self.strip_height {
                    BIT_ZERO
                } else {
                    self.colour_at(x, y, frame).0
                };
            }
        }
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let (u, v) = if cy * 2 < self.strip_height {
                    (128, 128)
                } else {
                    let c = self.colour_at(cx * 2, cy * 2, frame);
                    (c.1, c.2)
                };
                u_plane[cy * (w / 2) + cx] = u;
                v_plane[cy * (w / 2) + cx] = v;
            }
        }
        // Frame counter deliberately wraps: the strip has 32 bits for it.
        let bits = strip_bits(frame as u32, captured_us);
        let cells_per_row = w / CELL;
        for (i, bit) in bits.iter().enumerate() {
            let (row, col) = (i / cells_per_row, i % cells_per_row);
            let value = if *bit { BIT_ONE } else { BIT_ZERO };
            for y in row * CELL..(row + 1) * CELL {
                y_plane[y * w + col * CELL..y * w + (col + 1) * CELL].fill(value);
            }
        }
        out
    }

    /// Reads the strip from a decoded luma plane; `None` if the magic does not match.
    pub fn read_strip(&self, luma: &[u8], stride: usize) -> Option<StripData> {
        let cells_per_row = self.width / CELL;
        let mut bits = [false; STRIP_BITS];
        for (i, bit) in bits.iter_mut().enumerate() {
            let (row, col) = (i / cells_per_row, i % cells_per_row);
            // Sample the cell's centre, away from edges where ringing lives.
            let (cx, cy) = (col * CELL + CELL / 2, row * CELL + CELL / 2);
            *bit = *luma.get(cy * stride + cx)? > 128;
        }
        let take = |range: std::ops::Range<usize>| {
            bits[range]
                .iter()
                .fold(0u64, |acc, b| (acc << 1) | u64::from(*b))
        };
        (take(0..16) == u64::from(MAGIC)).then(|| StripData {
            frame: take(16..48) as u32,
            captured_us: take(48..112),
        })
    }

    /// Points inside each flat region (and the box centre) with their colours in `frame`.
    pub fn probes(&self, frame: u64) -> Vec<Probe> {
        let upper = (self.strip_height + self.split_row()) / 2;
        let size = self.box_size();
        vec![
            Probe {
                x: self.width / 4,
                y: upper,
                colour: RED,
            },
            Probe {
                x: self.width * 3 / 4,
                y: upper,
                colour: GREEN,
            },
            Probe {
                x: self.box_x(frame) + size / 2,
                y: self.box_top() + size / 2,
                colour: YELLOW,
            },
            // Below the box, where it never passes.
            Probe {
                x: self.width / 4,
                y: (self.box_top() + size + self.height) / 2,
                colour: BLUE,
            },
        ]
    }
}

fn strip_bits(frame: u32, captured_us: u64) -> [bool; STRIP_BITS] {
    let mut bits = [false; STRIP_BITS];
    let fields: [(u64, usize); 3] = [
        (u64::from(MAGIC), 16),
        (u64::from(frame), 32),
        (captured_us, 64),
    ];
    let mut i = 0;
    for (value, width) in fields {
        for shift in (0..width).rev() {
            bits[i] = (value >> shift) & 1 == 1;
            i += 1;
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_round_trips_on_the_raw_picture() {
        let pattern = TestPattern::new(640, 480);
        let picture = pattern.render(123_456, 1_764_500_000_123_456);
        let strip = pattern
            .read_strip(&picture[..640 * 480], 640)
            .expect("magic");
        assert_eq!(
            strip,
            StripData {
                frame: 123_456,
                captured_us: 1_764_500_000_123_456
            }
        );
    }

    #[test]
    fn probes_match_the_raw_picture_and_the_box_moves() {
        for (w, h) in [(640, 480), (1280, 720), (320, 240)] {
            let pattern = TestPattern::new(w, h);
            for frame in [0, 1, 50] {
                let picture = pattern.render(frame, 0);
                for probe in pattern.probes(frame) {
                    assert_eq!(
                        picture[probe.y * w + probe.x],
                        probe.colour.0,
                        "{w}x{h} {probe:?}"
                    );
                }
            }
            assert_eq!(pattern.box_x(1) - pattern.box_x(0), BOX_SPEED);
        }
    }
}
