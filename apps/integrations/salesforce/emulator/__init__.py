"""Local Salesforce emulator: OAuth JWT token endpoint, REST data API and Pub/Sub API."""
