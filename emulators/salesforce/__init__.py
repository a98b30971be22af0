"""A local Salesforce org: the OAuth JWT bearer token endpoint and REST data API over HTTPS
(``http_server``, ``rest``), the org's schema (``schema``) and record-triggered flows
(``flows``), and the Pub/Sub API over gRPC (``grpc_server``, ``eventbus``)."""
