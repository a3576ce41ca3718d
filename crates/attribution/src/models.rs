//! The per-conversion models: how one conversion's touches share its credit.
//!
//! Every model maps the eligible touches `t_1 … t_n` (attribution order: time,
//! then event id; `n >= 1`) to weights `w_1 … w_n` with `w_i >= 0` and
//! `Σ w_i = 1` (within 1e-12). With one touch, every model gives it 100%.
//!
//! | model | definition |
//! |---|---|
//! | `first_touch` | `w_1 = 1` |
//! | `last_touch` | `w_n = 1` (the last touch at or before the conversion) |
//! | `linear` | `w_i = 1/n` |
//! | `u_shaped` | position family with first 40, last 40, rest 20 |
//! | `j_shaped` | position family with first 20, last 60, rest 20 |
//! | `inverse_j` | position family with first 60, last 20, rest 20 |
//! | `custom` | position family with the configured first, last, rest |
//! | `w_shaped` | milestone family: 30 each on first, lead-creation and opportunity-creation touch, 10 on the rest |
//! | `full_path` | milestone family: 22.5 each on first, lead-creation, opportunity-creation and closed-won touch, 10 on the rest |
//! | `time_decay` | `w_i ∝ 2^(−(T − t_i) / h)`, `T` the conversion time, `h` the half-life (default 7 days) |
//!
//! **Position family** `(f, l, r)`: `n = 1`: 100%. `n = 2`: first `f/(f+l)`, last
//! `l/(f+l)` (U-shaped: 50/50; J: 25/75; inverse J: 75/25). `n >= 3`: first `f`,
//! last `l`, each of the `n − 2` others `r/(n−2)`; `f + l + r` is normalised to 1.
//!
//! **Milestone family**: each milestone slot (first touch; the lead-creation touch,
//! i.e. the last eligible touch at or before the lead was created; the
//! opportunity-creation touch, likewise; for full path the closed-won touch) puts
//! its share on its touch. Slots that coincide on one touch add up on it (a first
//! touch that also created the lead gets 60% under W-shaped). A slot whose
//! milestone is unknown or has no touch at or before it is missing; its share is
//! dropped. The rest share is split equally among the touches that hold no slot;
//! if every touch holds a slot, it is dropped. Finally the weights are
//! normalised to sum to 1, so missing and dropped shares are spread in proportion.

use serde::{Deserialize, Serialize};
use touchline_core::Timestamp;

use crate::{Milestones, TouchPoint};

/// An attribution model; the exact definitions are in the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    FirstTouch,
    LastTouch,
    Linear,
    UShaped,
    JShaped,
    InverseJ,
    WShaped,
    FullPath,
    TimeDecay,
    Custom,
}

/// Configurable parameters of the models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelParams {
    /// Half-life of `time_decay`, in days.
    pub time_decay_half_life_days: f64,
    /// The position weights of `custom`; any non-negative numbers, normalised.
    pub custom: PositionWeights,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            time_decay_half_life_days: 7.0,
            custom: PositionWeights {
                first: 30.0,
                last: 30.0,
                rest: 40.0,
            },
        }
    }
}

/// First, last and the rest, for the position family.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionWeights {
    pub first: f64,
    pub last: f64,
    pub rest: f64,
}

impl PositionWeights {
    /// Refuses negative, non-finite or all-zero weights.
    pub fn validate(&self) -> Result<(), String> {
        let all = [self.first, self.last, self.rest];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(format!(
                "position weights must be finite and non-negative, got {self:?}"
            ));
        }
        if self.first + self.last <= 0.0 {
            return Err("position weights: first + last must be above 0".into());
        }
        Ok(())
    }
}

const DAY_MS: f64 = 86_400_000.0;

impl Model {
    pub const ALL: [Model; 10] = [
        Model::FirstTouch,
        Model::LastTouch,
        Model::Linear,
        Model::UShaped,
        Model::JShaped,
        Model::InverseJ,
        Model::WShaped,
        Model::FullPath,
        Model::TimeDecay,
        Model::Custom,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
            Model::Linear => "linear",
            Model::UShaped => "u_shaped",
            Model::JShaped => "j_shaped",
            Model::InverseJ => "inverse_j",
            Model::WShaped => "w_shaped",
            Model::FullPath => "full_path",
            Model::TimeDecay => "time_decay",
            Model::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == text)
    }

    /// The weight of each touch, for eligible touches already in attribution
    /// order, given the conversion's time and milestones. Non-negative, summing
    /// to 1; `touches` must not be empty (an empty slice gets no weights).
    /// The models only read a touch's time ([`Timed`]), so a caller holding
    /// touches in columns passes the times alone.
    pub fn weights<T: Timed>(
        self,
        touches: &[T],
        converted_at: Timestamp,
        milestones: &Milestones,
        params: &ModelParams,
    ) -> Vec<f64> {
        let mut weights = Vec::with_capacity(touches.len());
        self.weights_into(touches, converted_at, milestones, params, &mut weights);
        weights
    }

    /// [`Model::weights`] into `out` (cleared first), so that a caller
    /// attributing many conversions reuses one buffer. The one definition:
    /// `weights` is this.
    pub fn weights_into<T: Timed>(
        self,
        touches: &[T],
        converted_at: Timestamp,
        milestones: &Milestones,
        params: &ModelParams,
        out: &mut Vec<f64>,
    ) {
        out.clear();
        let n = touches.len();
        if n <= 1 {
            out.extend(std::iter::repeat_n(1.0, n));
            return;
        }
        match self {
            Model::FirstTouch => one_hot(out, n, 0),
            Model::LastTouch => one_hot(out, n, n - 1),
            Model::Linear => out.resize(n, 1.0),
            Model::UShaped => position(out, n, 40.0, 40.0, 20.0),
            Model::JShaped => position(out, n, 20.0, 60.0, 20.0),
            Model::InverseJ => position(out, n, 60.0, 20.0, 20.0),
            Model::Custom => position(
                out,
                n,
                params.custom.first,
                params.custom.last,
                params.custom.rest,
            ),
            Model::WShaped => {
                let slots = [
                    Some(0),
                    key_touch(touches, milestones.lead_created),
                    key_touch(touches, milestones.opportunity_created),
                ];
                milestone(out, n, &slots, 30.0, 10.0);
            }
            Model::FullPath => {
                let slots = [
                    Some(0),
                    key_touch(touches, milestones.lead_created),
                    key_touch(touches, milestones.opportunity_created),
                    key_touch(touches, milestones.closed_won),
                ];
                milestone(out, n, &slots, 22.5, 10.0);
            }
            Model::TimeDecay => {
                let half_life = (params.time_decay_half_life_days * DAY_MS).max(1.0);
                out.extend(touches.iter().map(|t| {
                    let age =
                        (converted_at.as_millis() - t.occurred_at().as_millis()).max(0) as f64;
                    (-(age / half_life) * std::f64::consts::LN_2).exp()
                }));
            }
        }
        normalise(out);
    }
}

/// What the models read of a touch: when it happened.
pub trait Timed {
    fn occurred_at(&self) -> Timestamp;
}

impl Timed for TouchPoint {
    fn occurred_at(&self) -> Timestamp {
        self.occurred_at
    }
}

impl Timed for Timestamp {
    fn occurred_at(&self) -> Timestamp {
        *self
    }
}

impl<T: Timed> Timed for &T {
    fn occurred_at(&self) -> Timestamp {
        (**self).occurred_at()
    }
}

fn one_hot(weights: &mut Vec<f64>, n: usize, at: usize) {
    weights.resize(n, 0.0);
    weights[at] = 1.0;
}

fn position(weights: &mut Vec<f64>, n: usize, first: f64, last: f64, rest: f64) {
    weights.resize(n, 0.0);
    if n == 2 {
        weights[0] = first;
        weights[1] = last;
    } else {
        weights[0] = first;
        weights[n - 1] = last;
        let each = rest / (n - 2) as f64;
        for w in &mut weights[1..n - 1] {
            *w = each;
        }
    }
}

/// The last touch at or before `at`.
fn key_touch<T: Timed>(touches: &[T], at: Option<Timestamp>) -> Option<usize> {
    let at = at?;
    touches.iter().rposition(|t| t.occurred_at() <= at)
}

fn milestone(
    weights: &mut Vec<f64>,
    n: usize,
    slots: &[Option<usize>],
    slot_share: f64,
    rest_share: f64,
) {
    weights.resize(n, 0.0);
    for slot in slots.iter().flatten() {
        weights[*slot] += slot_share;
    }
    // At most four slots: membership by a look at them, no second buffer.
    let holds_slot = |i: usize| slots.contains(&Some(i));
    let others = (0..n).filter(|&i| !holds_slot(i)).count();
    if others > 0 {
        let each = rest_share / others as f64;
        for (i, w) in weights.iter_mut().enumerate() {
            if !holds_slot(i) {
                *w += each;
            }
        }
    }
}

/// Scales to a sum of 1 (within a few ulps; the property tests hold it to 1e-12).
/// An all-zero input (a decay that underflowed) becomes linear.
fn normalise(weights: &mut [f64]) {
    let sum: f64 = weights.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        let n = weights.len() as f64;
        weights.fill(1.0 / n);
        return;
    }
    for w in weights.iter_mut() {
        *w /= sum;
    }
}
