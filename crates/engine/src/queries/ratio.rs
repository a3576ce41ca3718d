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

/// An amount per unit (cost per lead, cost per sale) in integer minor units of
/// the row's currency, rounded half away from zero: `"undefined"` for a zero
/// denominator, `"unknown"` when the amount is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MinorRatio {
    Value(MinorTotal),
    Undefined(Undefined),
}

impl MinorRatio {
    pub(crate) fn of(minor: Option<MinorTotal>, denominator: f64) -> MinorRatio {
        match minor {
            None => MinorRatio::Undefined(Undefined::Unknown),
            Some(_) if denominator == 0.0 => MinorRatio::Undefined(Undefined::Undefined),
            // f64 is exact to 2^53 minor units, far above any cost per lead.
            Some(minor) => MinorRatio::Value((minor as f64 / denominator).round() as MinorTotal),
        }
    }
}

impl std::fmt::Display for MinorRatio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinorRatio::Value(v) => write!(f, "{v}"),
            MinorRatio::Undefined(Undefined::Undefined) => f.write_str("undefined"),
            MinorRatio::Undefined(Undefined::Unknown) => f.write_str("unknown"),
        }
    }
}
