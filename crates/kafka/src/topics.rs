//! The input topics' names, interned: the ingest loop names a message's topic
//! by a small id and shares one allocation of each name among every message,
//! dead letter and offset that carries it, instead of copying the name out of
//! each message several times.

use std::sync::Arc;

use touchline_proto::WireFormat;

/// A topic's index in [`Topics`].
pub(crate) type TopicId = usize;

/// The configured input topics, with their wire formats; others met (a
/// stored offset of a topic no longer configured) are added as they come.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    names: Vec<Arc<str>>,
    formats: Vec<WireFormat>,
}

impl Topics {
    pub(crate) fn new<'a>(configured: impl IntoIterator<Item = (&'a str, WireFormat)>) -> Self {
        let (names, formats) = configured
            .into_iter()
            .map(|(name, format)| (Arc::from(name), format))
            .unzip();
        Topics { names, formats }
    }

    /// The id of `name`. A consumer reads a handful of topics, so a scan
    /// beats hashing the name.
    pub(crate) fn id(&mut self, name: &str) -> TopicId {
        if let Some(id) = self.names.iter().position(|n| &**n == name) {
            return id;
        }
        self.names.push(Arc::from(name));
        // Not a configured topic: protobuf, as for any topic without a format.
        self.formats.push(WireFormat::Protobuf);
        self.names.len() - 1
    }

    pub(crate) fn name(&self, id: TopicId) -> &Arc<str> {
        &self.names[id]
    }

    pub(crate) fn format(&self, id: TopicId) -> WireFormat {
        self.formats[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_has_one_id_and_one_shared_allocation() {
        let mut topics = Topics::new([("a", WireFormat::Json), ("b", WireFormat::Protobuf)]);
        let b = topics.id("b");
        assert_eq!(topics.id("b"), b);
        assert_eq!(&**topics.name(b), "b");
        let a = topics.id("a");
        assert_eq!(topics.format(a), WireFormat::Json);
        let shared = topics.name(b).clone();
        let again = topics.id("b");
        assert!(Arc::ptr_eq(topics.name(again), &shared));
        let other = topics.id("unconfigured");
        assert_ne!(other, b);
        assert_eq!(topics.format(other), WireFormat::Protobuf);
        assert_eq!(topics.id("unconfigured"), other);
    }
}
