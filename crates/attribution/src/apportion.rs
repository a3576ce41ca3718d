/// Splits `total` minor units by `weights` so that the parts sum to `total`
/// exactly (largest remainder method).
///
/// Each part first gets the floor of its quota `total * weight`. The units left
/// over go one each to the parts with the largest fractional remainders; equal
/// remainders go to the lower index (the earlier touch), so the result never
/// depends on anything but the inputs. Parts with zero weight get nothing.
/// Negative totals (refunds) are split like positive ones, mirrored.
///
/// ```
/// # use touchline_attribution::apportion;
/// assert_eq!(apportion(100, &[1.0 / 3.0; 3]), vec![34, 33, 33]);
/// assert_eq!(apportion(-100, &[1.0 / 3.0; 3]), vec![-34, -33, -33]);
/// assert_eq!(apportion(7, &[0.0, 0.5, 0.5]), vec![0, 4, 3]);
/// ```
pub fn apportion(total: i64, weights: &[f64]) -> Vec<i64> {
    let mut parts = Vec::with_capacity(weights.len());
    Apportioner::default().split(total, weights, &mut parts);
    parts
}

/// [`apportion`] with its working buffers kept between calls, for a caller
/// that splits many values (a what-if over every conversion). The one
/// definition: `apportion` is this.
#[derive(Debug, Default)]
pub struct Apportioner {
    wide: Vec<i128>,
    /// (remainder in grains of 1e-9 of a unit, index).
    remainders: Vec<(i64, usize)>,
}

impl Apportioner {
    /// Splits `total` by `weights` into `out` (cleared first), exactly as
    /// [`apportion`] does.
    pub fn split(&mut self, total: i64, weights: &[f64], out: &mut Vec<i64>) {
        out.clear();
        if weights.is_empty() {
            return;
        }
        if total < 0 {
            self.split(total.checked_neg().unwrap_or(i64::MAX), weights, out);
            for part in out.iter_mut() {
                *part = -*part;
            }
            return;
        }
        let sum: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if sum <= 0.0 {
            // No positive weight: nothing to prefer, so everything to the first part.
            out.resize(weights.len(), 0);
            out[0] = total;
            return;
        }
        // One positive weight takes everything: the general split below ends
        // there too (its one remainder absorbs any rounding either way).
        let mut positive = weights.iter().enumerate().filter(|(_, w)| **w > 0.0);
        if let (Some((only, _)), None) = (positive.next(), positive.next()) {
            out.resize(weights.len(), 0);
            out[only] = total;
            return;
        }
        let total_f = total as f64;
        // Largest remainder first; equal remainders to the lower index. Remainders are
        // compared at 1e-9 of a unit, so that float noise in weights that are equal in
        // exact arithmetic (1/6 computed two ways) cannot decide who gets a cent.
        let grain = |r: f64| (r * 1e9).round() as i64;
        // i128 so that rounding on totals near i64::MAX cannot overflow the sum.
        let parts = &mut self.wide;
        let remainders = &mut self.remainders;
        parts.clear();
        remainders.clear();
        for (i, &w) in weights.iter().enumerate() {
            if w > 0.0 {
                let quota = total_f * (w / sum);
                let floor = quota.floor();
                parts.push(floor as i128);
                remainders.push((grain(quota - floor), i));
            } else {
                parts.push(0);
            }
        }
        let assigned: i128 = parts.iter().sum();
        let mut left = i128::from(total) - assigned;
        // Indices are distinct, so the order is total and an unstable sort gives
        // the one answer.
        remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut cursor = 0;
        while left > 0 {
            parts[remainders[cursor % remainders.len()].1] += 1;
            left -= 1;
            cursor += 1;
        }
        // Floating error can overshoot by a unit on huge totals: take it back from the
        // smallest remainders, never below zero.
        let mut cursor = remainders.len();
        while left < 0 {
            cursor = if cursor == 0 {
                remainders.len() - 1
            } else {
                cursor - 1
            };
            let i = remainders[cursor].1;
            if parts[i] > 0 {
                parts[i] -= 1;
                left += 1;
            }
        }
        // Every part now lies in 0..=total, so it fits.
        out.extend(parts.iter().map(|&p| p as i64));
    }
}
