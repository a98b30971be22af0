"""The Salesforce Pub/Sub API on the wire, shared by the portal's subscriber
(``apps/integrations/salesforce/pubsub``) and the Salesforce emulator's gRPC server (``emulators``).

- ``pubsub_api.proto``: the service ``eventbus.v1.PubSub`` as the portal uses it;
- ``pubsub_api_pb2`` / ``pubsub_api_pb2_grpc``: the modules generated from it, committed
  (regenerate with ``python -m salesforce_pubsub.generate``; never edit them by hand);
- ``avro``: the schemaless Avro encoding of event payloads.

It imports nothing from ``apps/``, ``portal/`` or Django, so both sides can depend on it.
"""
