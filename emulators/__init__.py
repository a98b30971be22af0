"""The embedded Salesforce and WHMCS: local systems that speak the real wire protocols, for
development, demos and tests.

- ``salesforce/``: an org (REST over HTTPS with the JWT bearer flow, Composite, sObject
  Collections, SOQL, its record-triggered flows, the Pub/Sub API over gRPC with Avro payloads,
  fault injection, its own org schema);
- ``whmcs/``: the ``/includes/api.php`` API;
- ``suite.EmulatorSuite``: both, started together.

This package imports nothing from ``apps/``, ``portal/`` or Django: whoever starts an emulator
passes its configuration in (constructor arguments). In the portal only ``apps/devtools`` (and
the tests) import it, so a production install can leave it out. The Pub/Sub wire code it shares
with the portal is the ``salesforce_pubsub`` package.
"""

from .suite import EmulatorSuite

__all__ = ["EmulatorSuite"]
