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

    /// The colour of pixel (x, y), strip excluded: the per-pixel definition `render`'s
    /// run filling is checked against.
    #[cfg(test)]
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

    /// Horizontal runs of one colour in luma row `y` (below the strip), left to right.
    fn runs(&self, y: usize, frame: u64) -> Vec<(usize, usize, Yuv)> {
        let w = self.width;
        if y < self.split_row() {
            return vec![(0, w / 2, RED), (w / 2, w, GREEN)];
        }
        let (bx, by, size) = (self.box_x(frame), self.box_top(), self.box_size());
        if (by..by + size).contains(&y) {
            vec![(0, bx, BLUE), (bx, bx + size, YELLOW), (bx + size, w, BLUE)]
        } else {
            vec![(0, w, BLUE)]
        }
    }

    /// Renders one I420 picture (Y plane, then U, then V). Whole runs are filled at once
    /// (memset speed): the agent renders 30 of these a second on a small board.
    pub fn render(&self, frame: u64, captured_us: u64) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0u8; w * h * 3 / 2];
        let (y_plane, chroma) = out.split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
        y_plane[..self.strip_height * w].fill(BIT_ZERO);
        for y in self.strip_height..h {
            let row = &mut y_plane[y * w..(y + 1) * w];
            for (from, to, colour) in self.runs(y, frame) {
                row[from..to].fill(colour.0);
            }
        }
        let cw = w / 2;
        for cy in 0..h / 2 {
            let (u_row, v_row) = (
                &mut u_plane[cy * cw..(cy + 1) * cw],
                &mut v_plane[cy * cw..(cy + 1) * cw],
            );
            if cy * 2 < self.strip_height {
                u_row.fill(128);
                v_row.fill(128);
                continue;
            }
            // Chroma sample cx covers luma column 2*cx: a run [from, to) covers the
            // samples with from <= 2*cx < to.
            for (from, to, colour) in self.runs(cy * 2, frame) {
                let (cfrom, cto) = (from.div_ceil(2), to.div_ceil(2));
                u_row[cfrom..cto].fill(colour.1);
                v_row[cfrom..cto].fill(colour.2);
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
    fn run_filling_equals_the_per_pixel_definition() {
        for (w, h) in [(640, 480), (642, 362), (320, 240)] {
            let pattern = TestPattern::new(w, h);
            for frame in [0, 7, 1000] {
                let picture = pattern.render(frame, 0);
                let (luma, chroma) = picture.split_at(w * h);
                let (u, v) = chroma.split_at(w * h / 4);
                for y in pattern.strip_height()..h {
                    for x in 0..w {
                        assert_eq!(
                            luma[y * w + x],
                            pattern.colour_at(x, y, frame).0,
                            "{w}x{h} ({x},{y})"
                        );
                    }
                }
                for cy in pattern.strip_height() / 2..h / 2 {
                    for cx in 0..w / 2 {
                        let c = pattern.colour_at(cx * 2, cy * 2, frame);
                        assert_eq!(
                            (u[cy * w / 2 + cx], v[cy * w / 2 + cx]),
                            (c.1, c.2),
                            "{w}x{h} chroma ({cx},{cy})"
                        );
                    }
                }
            }
        }
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
