use super::*;

/// A ratio that is undefined when its denominator is zero (a campaign that cost
/// nothing has no ROI; it is not infinite and not an error), and unknown when
/// an operand is (a campaign whose cost nobody recorded).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Ratio {
    Value(f64),
    Undefined(Undefined),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undefined {
    Undefined,
    Unknown,
}

impl Ratio {
    pub(crate) fn of(numerator: f64, denominator: f64) -> Ratio {
        if denominator == 0.0 {
            Ratio::Undefined(Undefined::Undefined)
        } else {
            Ratio::Value(numerator / denominator)
        }
    }
}

impl Ratio {
    pub(crate) const UNKNOWN: Ratio = Ratio::Undefined(Undefined::Unknown);

    /// `of`, or unknown when the numerator is.
    pub(crate) fn of_known(numerator: Option<f64>, denominator: f64) -> Ratio {
        numerator.map_or(Ratio::UNKNOWN, |n| Ratio::of(n, denominator))
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ratio::Value(v) => write!(f, "{v:.2}"),
            Ratio::Undefined(Undefined::Undefined) => f.write_str("undefined"),
            Ratio::Undefined(Undefined::Unknown) => f.write_str("unknown"),
        }
    }
}
