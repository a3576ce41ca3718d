//! Evaluating a what-if over the journey cache: every conversion in the
//! period, every asked model, in parallel over the cores.
//!
//! Per conversion, eligibility is worked out once for all models (as
//! `attribute_all` does): the touches at or before the conversion are the
//! cached slice, the lookback window is a binary search on their times
//! ([`AttributionSettings::window_start`]), the touch filter
//! ([`touchline_attribution::TouchFilter::admits`]) and the synthesized-touch
//! choice ([`touchline_attribution::SynthesizedTouches::admits`]) a gather
//! into a reused buffer. Each model's weights come from [`Model::weights_into`] and its
//! amounts from [`Apportioner::split`]: the functions `attribute_all` calls,
//! on borrowed columns with buffers reused from one conversion to the next.
//! So a credit here equals the stored one to the minor unit.

use touchline_attribution::{Apportioner, AttributionSettings, Model};
use touchline_core::{MinorTotal, Timestamp, TouchOrigin, TouchStatus};

use super::cache::Journeys;
use crate::TimeRange;

/// One (model, campaign, currency) total.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cell {
    pub weight: f64,
    pub value: MinorTotal,
    /// A credit line with a positive weight went here (the reports list a
    /// campaign once it has one).
    pub credited: bool,
}

/// One conversion's credit, summed per campaign: (campaign, amount, weight),
/// sorted by campaign.
pub(crate) type PerCampaign = Vec<(u32, i64, f64)>;

/// The stored credits of one model, per conversion of a [`Journeys`] (by
/// index), summed per campaign; `None` where the store has none.
pub(crate) type Baseline = Vec<Option<PerCampaign>>;

/// A conversion whose credit moved against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Move {
    pub model: usize,
    pub conversion: usize,
    /// Half the sum of absolute changes per campaign, in minor units.
    pub minor: i64,
    /// Likewise for weights (shares of the conversion).
    pub share: f64,
}

/// What the evaluation found.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    /// `models × campaigns × currencies` cells.
    pub cells: Vec<Cell>,
    pub conversions: usize,
    /// Eligible touches, counted once per conversion (not per model).
    pub touches: usize,
    pub moves: Vec<Move>,
    /// Per model: conversions moved, value moved, share moved.
    pub moved: Vec<(usize, MinorTotal, f64)>,
}

/// What stays fixed over one evaluation.
pub(crate) struct Ask<'a> {
    pub journeys: &'a Journeys,
    pub models: &'a [Model],
    pub settings: &'a AttributionSettings,
    pub range: TimeRange,
    /// Per model, the stored credits to compare with, when asked.
    pub baselines: Option<Vec<&'a Baseline>>,
}

impl Ask<'_> {
    fn stride(&self) -> usize {
        self.journeys.campaigns.len() * self.journeys.currencies.len()
    }

    fn cell(&self, model: usize, campaign: u32, currency: u32) -> usize {
        model * self.stride()
            + campaign as usize * self.journeys.currencies.len()
            + currency as usize
    }
}

/// Per-thread buffers for the touches that pass a filter.
#[derive(Default)]
struct Gather {
    times: Vec<Timestamp>,
    campaigns: Vec<u32>,
}

/// Per-thread buffers for one model's answer, reused from one conversion to
/// the next.
#[derive(Default)]
struct Work {
    weights: Vec<f64>,
    amounts: Vec<i64>,
    apportioner: Apportioner,
    per_campaign: PerCampaign,
}

/// Whether `settings`' filters admit every touch (then the window stays a
/// borrowed slice of the columns).
fn admits_all(settings: &AttributionSettings) -> bool {
    [TouchStatus::Sent, TouchStatus::Responded]
        .into_iter()
        .all(|s| settings.filter.admits(s))
        && [TouchOrigin::Recorded, TouchOrigin::Synthesized]
            .into_iter()
            .all(|o| settings.synthesized_touches.admits(o))
}

/// The eligible touches of conversion `i` (times and campaigns), in
/// attribution order: the cached touches (at or before it) inside the
/// lookback window and passing the filter.
fn eligible<'a>(
    ask: &Ask<'a>,
    all_admitted: bool,
    i: usize,
    gather: &'a mut Gather,
) -> (&'a [Timestamp], &'a [u32]) {
    let journeys = ask.journeys;
    let range = journeys.touches(i);
    let times = &journeys.touch_at[range.clone()];
    let from = journeys
        .kind
        .and_then(|kind| ask.settings.window_start(kind, journeys.at[i]))
        .map_or(0, |start| times.partition_point(|t| *t < start));
    let window = range.start + from..range.end;
    if all_admitted {
        return (
            &journeys.touch_at[window.clone()],
            &journeys.touch_campaign[window],
        );
    }
    gather.times.clear();
    gather.campaigns.clear();
    for k in window {
        if ask.settings.filter.admits(journeys.touch_status[k])
            && ask
                .settings
                .synthesized_touches
                .admits(journeys.touch_origin[k])
        {
            gather.times.push(journeys.touch_at[k]);
            gather.campaigns.push(journeys.touch_campaign[k]);
        }
    }
    (&gather.times, &gather.campaigns)
}

/// One model's weights (and amounts, for a valued conversion) over eligible
/// touches: what `attribute_all` computes, into `work`.
fn weigh(ask: &Ask<'_>, model: Model, i: usize, times: &[Timestamp], work: &mut Work) {
    let journeys = ask.journeys;
    model.weights_into(
        times,
        journeys.at[i],
        &journeys.milestones[i],
        &ask.settings.params,
        &mut work.weights,
    );
    if let Some(total) = journeys.value[i] {
        work.apportioner
            .split(total, &work.weights, &mut work.amounts);
    }
}

/// Conversion `i`'s credit under the ask's first model, per campaign.
pub(crate) fn credit_of_one(ask: &Ask<'_>, i: usize) -> PerCampaign {
    let mut gather = Gather::default();
    let mut work = Work::default();
    let (times, campaigns) = eligible(ask, admits_all(ask.settings), i, &mut gather);
    let value = ask.journeys.value[i];
    if times.is_empty() {
        return vec![(0, value.unwrap_or(0), 1.0)];
    }
    let Some(&model) = ask.models.first() else {
        return Vec::new();
    };
    weigh(ask, model, i, times, &mut work);
    let mut out = Vec::new();
    let amounts = value.map(|_| work.amounts.as_slice());
    per_campaign(campaigns, &work.weights, amounts, &mut out);
    out
}

/// Runs the ask over every conversion in its period.
pub(crate) fn evaluate(ask: &Ask<'_>) -> Totals {
    let journeys = ask.journeys;
    let selected: Vec<usize> = (0..journeys.len())
        .filter(|&i| ask.range.contains(journeys.at[i]))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(selected.len().div_ceil(256).max(1));
    let parts = split_by_touches(journeys, &selected, threads);
    let mut totals: Vec<Totals> = if parts.len() <= 1 {
        vec![run(ask, &selected)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|part| scope.spawn(move || run(ask, part)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut all = totals.pop().unwrap_or_else(|| empty(ask));
    for part in totals {
        for (cell, other) in all.cells.iter_mut().zip(&part.cells) {
            cell.weight += other.weight;
            cell.value += other.value;
            cell.credited |= other.credited;
        }
        all.conversions += part.conversions;
        all.touches += part.touches;
        all.moves.extend(part.moves);
        for (mine, theirs) in all.moved.iter_mut().zip(&part.moved) {
            mine.0 += theirs.0;
            mine.1 += theirs.1;
            mine.2 += theirs.2;
        }
    }
    all
}

/// Contiguous parts of `selected` with about the same number of touches each.
fn split_by_touches<'s>(
    journeys: &Journeys,
    selected: &'s [usize],
    threads: usize,
) -> Vec<&'s [usize]> {
    let total: usize = selected.iter().map(|&i| journeys.touches(i).len()).sum();
    let share = total.div_ceil(threads.max(1)).max(1);
    let mut parts = Vec::with_capacity(threads);
    let mut begin = 0;
    let mut seen = 0;
    for (k, &i) in selected.iter().enumerate() {
        seen += journeys.touches(i).len();
        if seen >= share && parts.len() + 1 < threads {
            parts.push(&selected[begin..=k]);
            begin = k + 1;
            seen = 0;
        }
    }
    parts.push(&selected[begin..]);
    parts
}

fn empty(ask: &Ask<'_>) -> Totals {
    Totals {
        cells: vec![Cell::default(); ask.models.len() * ask.stride()],
        moved: vec![(0, 0, 0.0); ask.models.len()],
        ..Totals::default()
    }
}

/// One thread's share: the conversions of `part`.
fn run(ask: &Ask<'_>, part: &[usize]) -> Totals {
    let journeys = ask.journeys;
    let mut totals = empty(ask);
    let mut gather = Gather::default();
    let mut work = Work::default();
    let all_admitted = admits_all(ask.settings);
    for &i in part {
        let value = journeys.value[i];
        let currency = journeys.currency[i];
        let (times, campaigns) = eligible(ask, all_admitted, i, &mut gather);
        totals.conversions += 1;
        totals.touches += times.len();
        for (m, &model) in ask.models.iter().enumerate() {
            if times.is_empty() {
                // No eligible touch: the whole value to `(no touch)`.
                let cell = &mut totals.cells[ask.cell(m, 0, currency)];
                cell.weight += 1.0;
                cell.value += MinorTotal::from(value.unwrap_or(0));
                cell.credited = true;
                if let Some(baselines) = &ask.baselines {
                    work.per_campaign.clear();
                    work.per_campaign.push((0, value.unwrap_or(0), 1.0));
                    compare(&mut totals, m, i, baselines[m], &work.per_campaign);
                }
                continue;
            }
            weigh(ask, model, i, times, &mut work);
            for (k, (&weight, &campaign)) in work.weights.iter().zip(campaigns).enumerate() {
                if weight > 0.0 {
                    let cell = &mut totals.cells[ask.cell(m, campaign, currency)];
                    cell.weight += weight;
                    if value.is_some() {
                        cell.value += MinorTotal::from(work.amounts[k]);
                    }
                    cell.credited = true;
                }
            }
            if let Some(baselines) = &ask.baselines {
                let amounts = value.map(|_| work.amounts.as_slice());
                let mut lines = std::mem::take(&mut work.per_campaign);
                per_campaign(campaigns, &work.weights, amounts, &mut lines);
                compare(&mut totals, m, i, baselines[m], &lines);
                work.per_campaign = lines;
            }
        }
    }
    totals
}

/// One conversion's credit lines summed per campaign, sorted by campaign;
/// lines of weight 0 are not credit lines.
pub(crate) fn per_campaign(
    campaigns: &[u32],
    weights: &[f64],
    amounts: Option<&[i64]>,
    out: &mut PerCampaign,
) {
    out.clear();
    for (k, (&campaign, &weight)) in campaigns.iter().zip(weights).enumerate() {
        if weight > 0.0 {
            out.push((campaign, amounts.map_or(0, |a| a[k]), weight));
        }
    }
    out.sort_by_key(|line| line.0);
    out.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            kept.2 += later.2;
            true
        } else {
            false
        }
    });
}

/// How far `now` lies from `then`: half the absolute changes per campaign,
/// in minor units and in shares.
pub(crate) fn distance(then: &[(u32, i64, f64)], now: &[(u32, i64, f64)]) -> (i64, f64) {
    let (mut a, mut b) = (0, 0);
    let (mut minor, mut share) = (0i128, 0.0f64);
    while a < then.len() || b < now.len() {
        let (dm, dw) = match (then.get(a), now.get(b)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                a += 1;
                b += 1;
                (i128::from(x.1) - i128::from(y.1), x.2 - y.2)
            }
            (Some(x), y) if y.is_none_or(|y| x.0 < y.0) => {
                a += 1;
                (i128::from(x.1), x.2)
            }
            (_, Some(y)) => {
                b += 1;
                (i128::from(y.1), y.2)
            }
            (x, None) => {
                // Unreachable: the arm above takes every `then` line once
                // `now` is done; kept total for the compiler.
                a += 1;
                x.map_or((0, 0.0), |x| (i128::from(x.1), x.2))
            }
        };
        minor += dm.abs();
        share += dw.abs();
    }
    // Each unit moved leaves one campaign and reaches another.
    (i64::try_from(minor / 2).unwrap_or(i64::MAX), share / 2.0)
}

/// Shares below this are float noise, not a move.
const SHARE_NOISE: f64 = 1e-9;

fn compare(
    totals: &mut Totals,
    model: usize,
    conversion: usize,
    baseline: &Baseline,
    now: &PerCampaign,
) {
    let Some(Some(then)) = baseline.get(conversion) else {
        return;
    };
    let (minor, share) = distance(then, now);
    if minor == 0 && share <= SHARE_NOISE {
        return;
    }
    let moved = &mut totals.moved[model];
    moved.0 += 1;
    moved.1 += MinorTotal::from(minor);
    moved.2 += share;
    totals.moves.push(Move {
        model,
        conversion,
        minor,
        share,
    });
}
