//! Where the router sends an input event: to the links topic when it names
//! more than one person, account or opportunity (only the directory can say
//! where it goes), to every shard when it names none (a campaign's), and
//! otherwise to the home shard of the one entity it names, which forwards it
//! if that entity's group has moved on.

use touchline_core::Event;
use touchline_core::colocation::{Entity, shard_of};

/// Where an input event goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The directory's topic: the event links entities.
    Links,
    /// Every shard: the event names no person, account or opportunity.
    EveryShard,
    /// The home shard of the one entity the event names.
    Shard(u32),
}

/// The first stop of `event` among `shards`.
pub fn destination(event: &Event, shards: u32) -> Destination {
    let mut named = event.colocated();
    let Some(first) = named.next() else {
        return Destination::EveryShard;
    };
    if named.any(|other| other.kind != first.kind || other.id != first.id) {
        return Destination::Links;
    }
    Destination::Shard(shard_of(&Entity::new(first.kind, first.id), shards))
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchline_fixtures::*;

    #[test]
    fn a_touch_goes_home_a_link_to_the_directory_and_a_campaign_everywhere() {
        let home = shard_of(&Entity::new(touchline_core::StreamKind::Person, "ann"), 8);
        assert_eq!(
            destination(&touch("ann", "search").into_event(), 8),
            Destination::Shard(home)
        );
        assert_eq!(
            destination(&contact_role("deal", "ann", "technical").into_event(), 8),
            Destination::Links
        );
        assert_eq!(
            destination(&campaign("search", 0).into_event(), 8),
            Destination::EveryShard
        );
    }
}
