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
        let mut contacts = Vec::new();
        self.stores.for_each(|id, p: PersonView| {
            if p.merged_into.is_none() {
                contacts.push(Contact {
                    person_id: id.to_owned(),
                    email: p.email,
                    phone: p.phone,
                });
            }
        })?;
        Ok(duplicate_groups(contacts))
    }
}

/// A person (not merged away) as the duplicate rule reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub person_id: String,
    /// Normalised, as stored.
    pub email: String,
    pub phone: String,
}

/// Groups of two or more people sharing an e-mail address, or a phone number
/// of at least 8 digits, by rule then key.
pub(crate) fn duplicate_groups(contacts: Vec<Contact>) -> Vec<DuplicateGroup> {
    let mut by_key: BTreeMap<(&'static str, String), Vec<String>> = BTreeMap::new();
    for c in contacts {
        if !c.email.is_empty() {
            by_key
                .entry(("email", c.email))
                .or_default()
                .push(c.person_id.clone());
        }
        if c.phone.chars().filter(char::is_ascii_digit).count() >= 8 {
            by_key
                .entry(("phone", c.phone))
                .or_default()
                .push(c.person_id);
        }
    }
    by_key
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|((rule, key), person_ids)| DuplicateGroup {
            rule,
            key,
            person_ids,
        })
        .collect()
}
