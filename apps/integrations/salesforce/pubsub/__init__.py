"""The Salesforce Pub/Sub API (gRPC): the project's proto, its generated stubs, Avro helpers and
the subscriber. Nothing here touches the database; durable processing is in ``salesforce.events``."""
