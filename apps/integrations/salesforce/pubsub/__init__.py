"""The portal's Salesforce Pub/Sub API (gRPC) subscriber. The wire code it shares with the
emulator (proto, generated modules, Avro) is the top-level ``salesforce_pubsub`` package. Nothing
here touches the database; durable processing is in ``salesforce.events``."""
