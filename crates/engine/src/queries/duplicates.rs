use super::*;

/// People who are likely the same (R10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// `email` or `phone`.
    pub rule: &'static str,
    /// The shared normalised value.
    pub key: String,
    pub person_ids: Vec<String>,
}

impl Queries {
    /// Groups of people (not merged away) who share a normalised e-mail address,
    /// or a normalised phone number of at least 8 digits. The rule is deliberately
    /// plain: a match is a candidate for a `PersonsMerged` event, never merged
    /// silently.
    pub fn duplicate_candidates(&self) -> Result<Vec<DuplicateGroup>, EngineError> {
        let mut by_key: BTreeMap<(&'static str, String), Vec<String>> = BTreeMap::new();
        self.store.for_each(Table::Persons, |id, p: PersonView| {
            if p.merged_into.is_some() {
                return;
            }
            if !p.email.is_empty() {
                by_key
                    .entry(("email", p.email.clone()))
                    .or_default()
                    .push(id.to_owned());
            }
            if p.phone.chars().filter(char::is_ascii_digit).count() >= 8 {
                by_key
                    .entry(("phone", p.phone.clone()))
                    .or_default()
                    .push(id.to_owned());
            }
        })?;
        Ok(by_key
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|((rule, key), person_ids)| DuplicateGroup {
                rule,
                key,
                person_ids,
            })
            .collect())
    }
}
