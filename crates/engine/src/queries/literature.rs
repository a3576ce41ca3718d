use super::*;

/// Literature fulfilment per asset (R8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiteratureRow {
    pub asset: String,
    /// People the material was sent to.
    pub sent_to: usize,
    /// Of those, people who responded to it.
    pub responded: usize,
    pub response_rate: Ratio,
    /// Won deals where a contact had been sent the material before the close.
    pub preceded_wins: usize,
    /// Their closed amounts, in minor units, summed as recorded (one currency
    /// is assumed; the campaign report splits by currency).
    pub preceded_revenue_minor: MinorTotal,
}

impl Queries {
    /// What material was sent to whom, how they responded, and which material
    /// came before purchases.
    pub fn literature(&self) -> Result<Vec<LiteratureRow>, EngineError> {
        use touchline_core::TouchType;
        // asset → (sent to, responded)
        let mut per_asset: BTreeMap<
            String,
            (hashbrown::HashSet<String>, hashbrown::HashSet<String>),
        > = BTreeMap::new();
        // person → (asset, sent at)
        let mut sent: hashbrown::HashMap<String, Vec<(String, Timestamp)>> =
            hashbrown::HashMap::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            if p.merged_into.is_some() {
                return;
            }
            for t in &p.touches {
                match t.touch_type {
                    TouchType::LiteratureSent => {
                        per_asset
                            .entry(t.asset.clone())
                            .or_default()
                            .0
                            .insert(p.person_id.clone());
                        sent.entry(p.person_id.clone())
                            .or_default()
                            .push((t.asset.clone(), t.occurred_at));
                    }
                    TouchType::LiteratureResponded => {
                        per_asset
                            .entry(t.asset.clone())
                            .or_default()
                            .1
                            .insert(p.person_id.clone());
                    }
                    _ => {}
                }
            }
        })?;
        let mut wins: BTreeMap<String, (usize, MinorTotal)> = BTreeMap::new();
        self.store
            .for_each(Table::Opportunities, |_, o: OpportunityView| {
                let Some(closed) = o.closed.as_ref().filter(|c| c.won) else {
                    return;
                };
                let mut assets: Vec<&String> = o
                    .contact_ids
                    .iter()
                    .filter_map(|c| sent.get(c))
                    .flatten()
                    .filter(|(_, at)| *at <= closed.closed_at)
                    .map(|(asset, _)| asset)
                    .collect();
                assets.sort();
                assets.dedup();
                for asset in assets {
                    let entry = wins.entry(asset.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += MinorTotal::from(closed.amount.amount_minor);
                }
            })?;
        Ok(per_asset
            .into_iter()
            .map(|(asset, (sent_to, responded))| {
                let (preceded_wins, preceded_revenue_minor) =
                    wins.get(&asset).copied().unwrap_or_default();
                let responded_of_sent = responded.iter().filter(|p| sent_to.contains(*p)).count();
                LiteratureRow {
                    response_rate: Ratio::of(responded_of_sent as f64, sent_to.len() as f64),
                    sent_to: sent_to.len(),
                    responded: responded_of_sent,
                    preceded_wins,
                    preceded_revenue_minor,
                    asset,
                }
            })
            .collect())
    }
}
