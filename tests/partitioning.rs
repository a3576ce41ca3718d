//! The partitioning contract on a real broker: the shard touchline computes
//! for a group key (`touchline_core::colocation`) is the partition Kafka's
//! partitioner gives a record with that key, so a topic keyed by group keys is
//! partitioned by shard whichever client wrote it.

mod support;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::FutureRecord;
use touchline_core::StreamKind;
use touchline_core::colocation::{Entity, shard_of};

#[tokio::test]
async fn kafka_places_a_group_key_on_the_shard_touchline_computes() {
    let topic = support::Topics::unique("partitioning").protobuf;
    let partitions = 7;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", support::brokers())
        .create()
        .expect("admin client");
    for result in admin
        .create_topics(
            &[NewTopic::new(
                &topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create topic (is Kafka running? bash deploy/kafka.sh start)")
    {
        result.expect("topic created");
    }
    let producer = support::producer();
    let kinds = [
        StreamKind::Person,
        StreamKind::Account,
        StreamKind::Opportunity,
    ];
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..210 {
        let group = Entity::new(kinds[n % 3], format!("id-{n}-é"));
        let key = group.partition_key();
        let partition = producer
            .send(
                FutureRecord::to(&topic).key(&key).payload("x"),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered")
            .partition;
        assert_eq!(
            partition as u32,
            shard_of(&group, partitions as u32),
            "{key}"
        );
        seen.insert(partition);
    }
    assert_eq!(seen.len(), partitions as usize, "every partition is used");
}
