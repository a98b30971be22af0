"""The emulated WHMCS installation: records, business rules and the wire shapes of each action.

Records are plain JSON-able dicts in canonical form (ints, ``"0.00"`` money strings, ``Y-m-d``
dates); each action renders them with the quirks real WHMCS shows (see ``facts/whmcs.md`` §2
and §3): ids as strings where WHMCS sends strings, ``""`` for an empty list with
``numreturned: 0``, CSV id lists, ``"-1.00"`` for cycles a product does not offer, zero dates,
``MM/YY`` card expiry and pagination by ``limitstart``/``limitnum`` (default 25).

Behaviour choices where the docs are silent (UNVERIFIED against a live WHMCS):

* ``DeleteClient`` deletes the client with all its services, orders, invoices and pay methods
  (real WHMCS does not refuse a client that has records), and with ``deleteusers`` also the
  Users that belong to no other client.
* ``CloseClient`` sets the client Closed, cancels its Unpaid/Draft invoices, cancels Pending
  services and terminates Active/Suspended ones.
* ``AddOrder`` requires ``pid``, ``billingcycle``, ``qty`` and ``configoptions`` as arrays (the
  8.6 "Expecting parameter … to be an array" rule), refuses a billing cycle the product prices
  at ``-1.00`` and, without a cycle, uses the first one offered. Unknown pids are refused.
* ``AcceptOrder`` makes the order and its Pending services Active whatever ``autosetup`` says.
* ``AddOrder`` ``priceoverride[i]`` replaces the whole price of item ``i``: its cycle price and
  its config options' prices, first payment and recurring alike, with no setup fee on top (the
  docs say only "Override the price of the product being ordered"). Indexes are kept, so
  ``priceoverride[1]`` alone overrides the second item only.
* ``CreateSsoToken`` answers a single-use token valid for 60 s and a ``redirect_url`` to
  ``oauth/singlesignon.php``; redeeming it signs the browser into the emulated client area (see
  ``server.py``), whose add-payment-method page stores a card as a customer would.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .wire import SerializedValueError, php_unserialize_base64

Record = dict[str, Any]
Params = Mapping[str, Any]

DEFAULT_TIMEZONE = ZoneInfo("Asia/Tokyo")
DEFAULT_PAGE_SIZE = 25
ZERO_DATE = "0000-00-00"
ZERO_DATETIME = "0000-00-00 00:00:00"
CURRENCY = {"id": 1, "code": "JPY", "prefix": "¥", "suffix": " JPY"}
SSO_TOKEN_SECONDS = 60
#: ``CreateSsoToken`` destinations the emulator knows, with the client-area path each opens
#: (``sso:custom_redirect`` opens ``sso_redirect_path``).
SSO_DESTINATIONS: dict[str, str] = {
    "clientarea:homepage": "clientarea.php",
    "clientarea:profile": "clientarea.php?action=details",
    "clientarea:billing_info": "index.php?rp=/account/paymentmethods",
    "clientarea:invoices": "clientarea.php?action=invoices",
    "clientarea:services": "clientarea.php?action=services",
    "clientarea:product_details": "clientarea.php?action=productdetails",
    "sso:custom_redirect": "",
}
PAYMENT_GATEWAYS = {"mailin": "Mail In Payment", "banktransfer": "Bank Transfer", "stripe": "Credit Card"}

#: Request spelling → (display name, months; 0 = not recurring).
BILLING_CYCLES: dict[str, tuple[str, int]] = {
    "monthly": ("Monthly", 1),
    "quarterly": ("Quarterly", 3),
    "semiannually": ("Semi-Annually", 6),
    "annually": ("Annually", 12),
    "biennially": ("Biennially", 24),
    "triennially": ("Triennially", 36),
    "onetime": ("One Time", 0),
    "free": ("Free Account", 0),
}
SETUP_FEE_KEY = {
    "monthly": "msetupfee",
    "quarterly": "qsetupfee",
    "semiannually": "ssetupfee",
    "annually": "asetupfee",
    "biennially": "bsetupfee",
    "triennially": "tsetupfee",
}
CONFIG_OPTION_TYPES = {1: "dropdown", 2: "radio", 3: "yesno", 4: "quantity"}
ACTIVE_SERVICE_STATUSES = {"Active", "Suspended"}
SERVICE_STATUSES = {"Pending", "Active", "Suspended", "Terminated", "Cancelled", "Fraud", "Completed"}
EDITABLE_CLIENT_FIELDS = (
    "firstname",
    "lastname",
    "companyname",
    "address1",
    "address2",
    "city",
    "state",
    "postcode",
    "country",
    "phonenumber",
    "language",
    "notes",
    "status",
)
INVOICE_STATUSES = {"Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending"}


def _product(
    pid: int,
    gid: int,
    name: str,
    product_type: str,
    monthly: str,
    *,
    annually: str = "-1.00",
    setup: str = "0.00",
    paytype: str = "recurring",
    module: str = "",
    config_options: Sequence[Record] = (),
) -> Record:
    pricing = {cycle: "-1.00" for cycle in SETUP_FEE_KEY}
    pricing.update({fee: "-1.00" for fee in SETUP_FEE_KEY.values()})
    pricing.update({"monthly": monthly, "msetupfee": setup})
    if annually != "-1.00":
        pricing.update({"annually": annually, "asetupfee": setup})
    return {
        "pid": pid,
        "gid": gid,
        "name": name,
        "product_type": product_type,
        "slug": name.lower().replace(" ", "-"),
        "description": f"SonixNet {name}",
        "module": module,
        "paytype": paytype,
        "pricing": pricing,
        "configoptions": list(config_options),
    }


#: The seed catalog: internet, SIM and VPN plans plus one-time fees. ``product_type`` is the
#: emulator's own tag (WHMCS has no such field) so drivers can pick plans by kind.
DEFAULT_PRODUCTS: tuple[Record, ...] = (
    _product(
        1,
        1,
        "Home 1G",
        "internet",
        "5500.00",
        annually="60500.00",
        module="sonixnet_fiber",
        config_options=[
            {
                "id": 1,
                "name": "Router rental",
                "type": 1,
                "options": [
                    {"id": 1, "name": "No router", "price": "0.00"},
                    {"id": 2, "name": "Wi-Fi 6 router", "price": "550.00"},
                ],
            }
        ],
    ),
    _product(2, 1, "Home 10G", "internet", "6500.00", annually="71500.00", module="sonixnet_fiber"),
    _product(3, 1, "Internet installation", "internet", "22000.00", paytype="onetime"),
    _product(4, 2, "SIM Data 5GB", "sim", "1200.00", setup="3300.00", module="sonixnet_mobile"),
    _product(
        5,
        2,
        "SIM Voice 20GB",
        "sim",
        "2400.00",
        setup="3300.00",
        module="sonixnet_mobile",
        config_options=[
            {
                "id": 2,
                "name": "Extra data (GB)",
                "type": 4,
                "options": [{"id": 3, "name": "GB", "price": "200.00"}],
            }
        ],
    ),
    _product(6, 3, "VPN Standard", "vpn", "900.00", annually="9900.00", module="sonixnet_vpn"),
)
PRODUCT_GROUPS = {1: "Internet", 2: "SIM", 3: "VPN"}


class ApiFailure(Exception):
    """A ``result: error`` answer; ``status`` is the HTTP status it travels with."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def money(value: Decimal | str | int) -> str:
    return f"{Decimal(value):.2f}"


def add_months(day: date, months: int) -> date:
    """Calendar months, clamping the day (Jan 31 + 1 month → Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def _as_int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _truthy(value: Any) -> bool:
    """PHP truthiness of a form value: ``""`` and ``"0"`` are false, everything else true."""
    return value not in (None, "", "0", 0, False)


def _page(rows: list[Record], params: Params) -> tuple[list[Record], int, int]:
    start = max(_as_int(params.get("limitstart"), 0), 0)
    size = _as_int(params.get("limitnum"), DEFAULT_PAGE_SIZE)
    size = size if size > 0 else DEFAULT_PAGE_SIZE
    return rows[start : start + size], start, len(rows)


def _wrapped(key: str, rows: list[Any]) -> Any:
    """WHMCS wraps lists as ``{"invoice": [...]}`` but answers an empty list with ``""``."""
    return {key: rows} if rows else ""


class EmulatorState:
    """All records of one emulated WHMCS, guarded by one lock (the HTTP server is threaded)."""

    def __init__(
        self,
        *,
        products: Sequence[Mapping[str, Any]] | None = None,
        timezone: tzinfo = DEFAULT_TIMEZONE,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.timezone = timezone
        self.state_file = Path(state_file) if state_file else None
        #: Where browsers reach this WHMCS (``redirect_url`` of ``CreateSsoToken``); the server
        #: sets it once its socket is bound.
        self.public_url = "http://127.0.0.1"
        self._seed_products = [copy.deepcopy(dict(product)) for product in (products or DEFAULT_PRODUCTS)]
        self.data: dict[str, Any] = {}
        self.reset(persist=False)
        if self.state_file and self.state_file.exists():
            self.load()
        self.actions: dict[str, Callable[[Params], Record]] = {
            "addclient": self.add_client,
            "getclientsdetails": self.get_clients_details,
            "updateclient": self.update_client,
            "closeclient": self.close_client,
            "deleteclient": self.delete_client,
            "getclients": self.get_clients,
            "addorder": self.add_order,
            "acceptorder": self.accept_order,
            "cancelorder": self.cancel_order,
            "getorders": self.get_orders,
            "getclientsproducts": self.get_clients_products,
            "updateclientproduct": self.update_client_product,
            "moduleterminate": self.module_terminate,
            "getinvoices": self.get_invoices,
            "getinvoice": self.get_invoice,
            "getpaymethods": self.get_pay_methods,
            "getproducts": self.get_products,
            "createssotoken": self.create_sso_token,
        }

    # --- lifecycle and persistence --------------------------------------------------------------

    def reset(self, *, persist: bool = True) -> None:
        """Forget every client, order, service, invoice and pay method; keep the catalog."""
        with self.lock:
            self.data = {
                "clients": {},
                "users": {},
                "orders": {},
                "services": {},
                "invoices": {},
                "paymethods": {},
                "sso_tokens": {},
                "products": {str(p["pid"]): copy.deepcopy(p) for p in self._seed_products},
                "next_ids": {},
            }
            if persist:
                self.save()

    def load(self) -> None:
        assert self.state_file is not None
        with self.lock:
            loaded = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.data.update(loaded)
            self.data.setdefault("sso_tokens", {})

    def save(self) -> None:
        """Write the state atomically (temp file + rename) so a crash never leaves half a file."""
        if not self.state_file:
            return
        with self.lock:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
            temporary.write_text(json.dumps(self.data, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(temporary, self.state_file)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of every record, for inspection in tests and over ``/__emulator__/state``."""
        with self.lock:
            return copy.deepcopy(self.data)

    # --- inspection helpers ---------------------------------------------------------------------

    def _records(self, table: str) -> list[Record]:
        with self.lock:
            return [copy.deepcopy(record) for record in self.data[table].values()]

    @property
    def clients(self) -> list[Record]:
        return self._records("clients")

    @property
    def users(self) -> list[Record]:
        return self._records("users")

    @property
    def orders(self) -> list[Record]:
        return self._records("orders")

    @property
    def services(self) -> list[Record]:
        return self._records("services")

    @property
    def invoices(self) -> list[Record]:
        return self._records("invoices")

    @property
    def paymethods(self) -> list[Record]:
        return self._records("paymethods")

    @property
    def products(self) -> list[Record]:
        return self._records("products")

    def get(self, table: str, record_id: int) -> Record | None:
        with self.lock:
            record = self.data[table].get(str(record_id))
            return copy.deepcopy(record) if record else None

    # --- dispatch -------------------------------------------------------------------------------

    def dispatch(self, action: str, params: Params) -> Record:
        """Run one API action; raises :class:`ApiFailure` for ``result: error`` answers."""
        handler = self.actions.get(action.lower())
        if handler is None:
            raise ApiFailure(f'Invalid API Action: "{action.lower()}" is not a valid API action')
        with self.lock:
            body = handler(params)
            if not action.lower().startswith("get"):
                self.save()
        return {"result": "success", **body}

    # --- helpers ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(tz=self.timezone)

    def today(self) -> date:
        return self.now().date()

    def _timestamp(self) -> str:
        return self.now().strftime("%Y-%m-%d %H:%M:%S")

    def _next_id(self, table: str) -> int:
        counters = self.data["next_ids"]
        counters[table] = counters.get(table, 0) + 1
        return int(counters[table])

    def _client(self, params: Params, key: str = "clientid", message: str = "Client ID Not Found") -> Record:
        client = self.data["clients"].get(str(_as_int(params.get(key))))
        if client is None:
            raise ApiFailure(message)
        return client

    def _product_record(self, pid: int) -> Record | None:
        product = self.data["products"].get(str(pid))
        return product if isinstance(product, dict) else None

    def _client_rows(self, table: str, client_id: int) -> list[Record]:
        return [row for row in self.data[table].values() if row["userid"] == client_id]

    # --- clients --------------------------------------------------------------------------------

    def add_client(self, params: Params) -> Record:
        required = {
            "firstname": "You did not enter your first name",
            "lastname": "You did not enter your last name",
            "email": "You did not enter your email address",
            "address1": "You did not enter your address (line 1)",
            "city": "You did not enter your city",
            "state": "You did not enter your state",
            "postcode": "You did not enter your postcode",
            "phonenumber": "You did not enter your phone number",
        }
        skip_validation = _truthy(params.get("skipvalidation"))
        if not skip_validation:
            for field, message in required.items():
                if not str(params.get(field, "")).strip():
                    raise ApiFailure(message)
            country = str(params.get("country", ""))
            if len(country) != 2 or not country.isalpha():
                raise ApiFailure("Valid country required")
        email = str(params.get("email", "")).strip().lower()
        if "@" not in email:
            raise ApiFailure("You did not enter a valid email address")
        owner_id = _as_int(params.get("owner_user_id"))
        if owner_id:
            owner = self.data["users"].get(str(owner_id))
            if owner is None:
                raise ApiFailure("Owner User ID Not Found")
        else:
            if any(user["email"] == email for user in self.data["users"].values()):
                raise ApiFailure("A user already exists with that email address")
            if not str(params.get("password2", "")):
                raise ApiFailure("A password is required to create a new user")
            owner_id = self._next_id("users")
            owner = {
                "id": owner_id,
                "email": email,
                "name": f"{params.get('firstname', '')} {params.get('lastname', '')}".strip(),
                "client_ids": [],
            }
            self.data["users"][str(owner_id)] = owner
        client_id = self._next_id("clients")
        owner["client_ids"].append(client_id)
        self.data["clients"][str(client_id)] = {
            "id": client_id,
            "uuid": str(uuid.uuid4()),
            "owner_user_id": owner_id,
            "firstname": str(params.get("firstname", "")),
            "lastname": str(params.get("lastname", "")),
            "companyname": str(params.get("companyname", "")),
            "email": email,
            "address1": str(params.get("address1", "")),
            "address2": str(params.get("address2", "")),
            "city": str(params.get("city", "")),
            "state": str(params.get("state", "")),
            "postcode": str(params.get("postcode", "")),
            "country": str(params.get("country", "")).upper(),
            "phonenumber": str(params.get("phonenumber", "")),
            "language": str(params.get("language", "")),
            "notes": str(params.get("notes", "")),
            "status": "Active",
            "groupid": _as_int(params.get("groupid")),
            "datecreated": self.today().isoformat(),
            "credit": "0.00",
            "taxexempt": False,
            "email_verified": False,
            "marketing_optin": _truthy(params.get("marketingoptin")),
        }
        return {"clientid": str(client_id), "owner_id": owner_id}

    def get_clients_details(self, params: Params) -> Record:
        if not params.get("clientid") and not params.get("email"):
            raise ApiFailure("Either clientid Or email Is Required")
        if params.get("clientid"):
            client = self.data["clients"].get(str(_as_int(params.get("clientid"))))
        else:
            email = str(params.get("email", "")).strip().lower()
            client = next((c for c in self.data["clients"].values() if c["email"] == email), None)
        if client is None:
            raise ApiFailure("Client Not Found")
        rendered = self._render_client(client)
        unpaid = [
            invoice
            for invoice in self._client_rows("invoices", client["id"])
            if invoice["status"] == "Unpaid"
        ]
        unpaid_total = sum((Decimal(invoice["total"]) for invoice in unpaid), Decimal("0"))
        stats = {
            "numunpaidinvoices": str(len(unpaid)),
            "unpaidinvoicesamount": f"{CURRENCY['prefix']}{money(unpaid_total)}{CURRENCY['suffix']}",
            "creditbalance": f"{CURRENCY['prefix']}{client['credit']}{CURRENCY['suffix']}",
            "productsnumactive": str(
                sum(1 for s in self._client_rows("services", client["id"]) if s["status"] == "Active")
            ),
        }
        # WHMCS still repeats the client fields at top level (deprecated copy).
        return {**rendered, "client": rendered, "stats": stats}

    def _render_client(self, client: Record) -> Record:
        owner = self.data["users"].get(str(client["owner_user_id"]))
        return {
            "userid": client["id"],
            "client_id": client["id"],
            "id": client["id"],
            "owner_user_id": client["owner_user_id"],
            "uuid": client["uuid"],
            "firstname": client["firstname"],
            "lastname": client["lastname"],
            "fullname": f"{client['firstname']} {client['lastname']}".strip(),
            "companyname": client["companyname"],
            "email": client["email"],
            "address1": client["address1"],
            "address2": client["address2"],
            "city": client["city"],
            "fullstate": client["state"],
            "state": client["state"],
            "postcode": client["postcode"],
            "countrycode": client["country"],
            "country": client["country"],
            "phonecc": 81,
            "phonenumber": client["phonenumber"],
            "phonenumberformatted": f"+81.{client['phonenumber']}",
            "currency": CURRENCY["id"],
            "currency_code": CURRENCY["code"],
            "defaultgateway": "",
            "groupid": client["groupid"],
            "status": client["status"],
            "credit": client["credit"],
            "taxexempt": client["taxexempt"],
            "language": client["language"],
            "lastlogin": "No Login Logged",
            "notes": client["notes"],
            "email_verified": client["email_verified"],
            "email_preferences": {
                "general": "1",
                "invoice": "1",
                "support": "1",
                "product": "1",
                "domain": "1",
                "affiliate": "1",
            },
            "customfields": [],
            "users": {
                "user": (
                    [{"id": owner["id"], "name": owner["name"], "email": owner["email"], "is_owner": True}]
                    if owner
                    else []
                )
            },
        }

    def update_client(self, params: Params) -> Record:
        if params.get("clientid") or not params.get("clientemail"):
            client = self._client(params)
        else:
            email = str(params.get("clientemail", "")).strip().lower()
            found = next((c for c in self.data["clients"].values() if c["email"] == email), None)
            if found is None:
                raise ApiFailure("Client ID Not Found")
            client = found
        if "email" in params:
            new_email = str(params["email"]).strip().lower()
            if any(
                c["email"] == new_email and c["id"] != client["id"] for c in self.data["clients"].values()
            ):
                raise ApiFailure("Duplicate Email Address")
            client["email"] = new_email
        for field in EDITABLE_CLIENT_FIELDS:
            if field in params:
                client[field] = str(params[field])
        if "groupid" in params:
            client["groupid"] = _as_int(params["groupid"])
        if "taxexempt" in params:
            client["taxexempt"] = _truthy(params["taxexempt"])
        return {"clientid": client["id"]}

    def close_client(self, params: Params) -> Record:
        client = self._client(params)
        client["status"] = "Closed"
        for invoice in self._client_rows("invoices", client["id"]):
            if invoice["status"] in {"Unpaid", "Draft"}:
                invoice["status"] = "Cancelled"
                invoice["date_cancelled"] = self._timestamp()
        for service in self._client_rows("services", client["id"]):
            if service["status"] == "Pending":
                service["status"] = "Cancelled"
            elif service["status"] in ACTIVE_SERVICE_STATUSES:
                service["status"] = "Terminated"
                service["terminationdate"] = self.today().isoformat()
        return {}

    def delete_client(self, params: Params) -> Record:
        client = self._client(params)
        client_id = client["id"]
        for table in ("services", "orders", "invoices", "paymethods"):
            for row in self._client_rows(table, client_id):
                del self.data[table][str(row["id"])]
        del self.data["clients"][str(client_id)]
        for user in list(self.data["users"].values()):
            if client_id in user["client_ids"]:
                user["client_ids"].remove(client_id)
                if not user["client_ids"] and _truthy(params.get("deleteusers")):
                    del self.data["users"][str(user["id"])]
        return {"clientid": client_id}

    def get_clients(self, params: Params) -> Record:
        rows = sorted(self.data["clients"].values(), key=lambda c: c["id"])
        if params.get("status"):
            rows = [c for c in rows if c["status"].lower() == str(params["status"]).lower()]
        search = str(params.get("search", "")).strip().lower()
        if search:
            rows = [
                c
                for c in rows
                if any(
                    value.lower().startswith(search)
                    for value in (
                        c["email"],
                        c["firstname"],
                        c["lastname"],
                        f"{c['firstname']} {c['lastname']}",
                        c["companyname"],
                    )
                )
            ]
        if str(params.get("sorting", "ASC")).upper() == "DESC":
            rows.reverse()
        page, start, total = _page(rows, params)
        clients = [
            {
                "id": c["id"],
                "firstname": c["firstname"],
                "lastname": c["lastname"],
                "companyname": c["companyname"],
                "email": c["email"],
                "datecreated": c["datecreated"],
                "groupid": c["groupid"],
                "status": c["status"],
            }
            for c in page
        ]
        return {
            "totalresults": total,
            "startnumber": start,
            "numreturned": len(clients),
            "clients": _wrapped("client", clients),
        }

    # --- orders ---------------------------------------------------------------------------------

    @staticmethod
    def _array(params: Params, name: str, *, required: bool = False) -> list[Any]:
        value = params.get(name)
        if value is None:
            if required:
                raise ApiFailure("No items added to cart so order cannot proceed")
            return []
        if not isinstance(value, dict):
            raise ApiFailure(f"Expecting parameter '{name}' to be an array")
        return [value[key] for key in sorted(value, key=lambda k: _as_int(k, 0))]

    def add_order(self, params: Params) -> Record:
        client = self._client(params)
        gateway = str(params.get("paymentmethod", ""))
        if gateway not in PAYMENT_GATEWAYS:
            raise ApiFailure(f"Invalid Payment Method. Valid options include {','.join(PAYMENT_GATEWAYS)}")
        pids = self._array(params, "pid", required=True)
        if not pids:
            raise ApiFailure("No items added to cart so order cannot proceed")
        cycles = self._array(params, "billingcycle")
        quantities = self._array(params, "qty")
        option_blobs = self._array(params, "configoptions")
        overrides = self._indexed(params, "priceoverride")
        lines: list[dict[str, Any]] = []
        for index, raw_pid in enumerate(pids):
            product = self._product_record(_as_int(raw_pid))
            if product is None:
                raise ApiFailure(f"Invalid Product ID: {raw_pid}")
            cycle_key, cycle_name, months, price, setup = self._price(
                product, str(cycles[index]) if index < len(cycles) else ""
            )
            options = self._decode_options(product, option_blobs[index] if index < len(option_blobs) else "")
            option_total = sum(
                (self._option_price(product, cid, value) for cid, value in options.items()), Decimal()
            )
            qty = max(_as_int(quantities[index], 1) if index < len(quantities) else 1, 1)
            override = self._price_override(overrides.get(index))
            if override is not None:
                price, option_total, setup = override, Decimal("0"), Decimal("0")
            lines.append(
                {
                    "product": product,
                    "cycle_key": cycle_key,
                    "cycle_name": cycle_name,
                    "months": months,
                    "recurring": (price + option_total) if months else Decimal("0"),
                    "first": (price + option_total + setup),
                    "setup": setup,
                    "options": options,
                    "qty": qty,
                }
            )

        now, today = self._timestamp(), self.today()
        order_id = self._next_id("orders")
        service_ids: list[int] = []
        items: list[Record] = []
        total = Decimal("0")
        for line in lines:
            for _ in range(line["qty"]):
                service_id = self._next_id("services")
                service_ids.append(service_id)
                product = line["product"]
                self.data["services"][str(service_id)] = {
                    "id": service_id,
                    "userid": client["id"],
                    "orderid": order_id,
                    "pid": product["pid"],
                    "regdate": today.isoformat(),
                    "nextduedate": today.isoformat() if line["months"] else ZERO_DATE,
                    "billingcycle": line["cycle_name"],
                    "firstpaymentamount": money(line["first"]),
                    "recurringamount": money(line["recurring"]),
                    "paymentmethod": gateway,
                    "status": "Pending",
                    "domain": "",
                    "notes": "",
                    "username": "",
                    "terminationdate": ZERO_DATE,
                    "configoptions": {str(k): v for k, v in line["options"].items()},
                }
                items.append(
                    {
                        "type": "Hosting",
                        "relid": service_id,
                        "description": self._item_description(product, line, today),
                        "amount": money(line["first"]),
                    }
                )
                total += line["first"]

        invoice_id = 0
        if not _truthy(params.get("noinvoice")):
            invoice_id = self._create_invoice(client["id"], gateway, items, today)
        self.data["orders"][str(order_id)] = {
            "id": order_id,
            "ordernum": str(1000000000 + order_id * 7919),
            "userid": client["id"],
            "date": now,
            "status": "Pending",
            "amount": money(total),
            "paymentmethod": gateway,
            "invoiceid": invoice_id,
            "promocode": str(params.get("promocode", "")),
            "notes": str(params.get("notes", "")),
            "ipaddress": str(params.get("clientip", "")),
            "service_ids": service_ids,
        }
        return {
            "orderid": str(order_id),
            "serviceids": ",".join(str(service_id) for service_id in service_ids),
            "addonids": "",
            "domainids": "",
            "invoiceid": str(invoice_id) if invoice_id else "",
        }

    @staticmethod
    def _indexed(params: Params, name: str) -> dict[int, Any]:
        """An array parameter by its PHP index (``priceoverride[1]`` alone is item 1's)."""
        value = params.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiFailure(f"Expecting parameter '{name}' to be an array")
        return {_as_int(key, -1): item for key, item in value.items()}

    @staticmethod
    def _price_override(value: Any) -> Decimal | None:
        if value is None or str(value).strip() == "":
            return None
        try:
            price = Decimal(str(value).strip())
        except ArithmeticError:
            raise ApiFailure(f"Invalid price override: {value}") from None
        if not price.is_finite() or price < 0:
            raise ApiFailure(f"Invalid price override: {value}")
        return price

    @staticmethod
    def _price(product: Record, requested: str) -> tuple[str, str, int, Decimal, Decimal]:
        pricing = product["pricing"]
        if product["paytype"] != "recurring":
            key = "free" if product["paytype"] == "free" else "onetime"
            name, months = BILLING_CYCLES[key]
            return key, name, 0, Decimal(pricing["monthly"]), Decimal(pricing["msetupfee"])
        key = requested.strip().lower().replace("-", "").replace(" ", "").replace("_", "")
        if not key:
            # Like the cart, fall back to the first cycle the product is offered in.
            key = next((cycle for cycle in SETUP_FEE_KEY if Decimal(pricing.get(cycle, "-1.00")) >= 0), "")
        if key not in SETUP_FEE_KEY or Decimal(pricing.get(key, "-1.00")) < 0:
            raise ApiFailure(f"Invalid Billing Cycle: {requested or '(none)'} for product {product['pid']}")
        name, months = BILLING_CYCLES[key]
        return key, name, months, Decimal(pricing[key]), Decimal(pricing[SETUP_FEE_KEY[key]])

    @staticmethod
    def _decode_options(product: Record, blob: Any) -> dict[int, Any]:
        if not blob:
            return {}
        try:
            decoded = php_unserialize_base64(str(blob))
        except SerializedValueError as error:
            raise ApiFailure(f"Invalid configoptions: {error}") from error
        if not isinstance(decoded, dict):
            raise ApiFailure("Invalid configoptions: expected an array")
        known = {option["id"] for option in product["configoptions"]}
        options: dict[int, Any] = {}
        for key, value in decoded.items():
            option_id = _as_int(key)
            if option_id in known:
                options[option_id] = value.get("optionid") if isinstance(value, dict) else value
        return options

    @staticmethod
    def _option_price(product: Record, option_id: int, value: Any) -> Decimal:
        option = next((o for o in product["configoptions"] if o["id"] == option_id), None)
        if option is None:
            return Decimal("0")
        if option["type"] == 4:
            return Decimal(option["options"][0]["price"]) * _as_int(value)
        choice = next((c for c in option["options"] if c["id"] == _as_int(value)), None)
        return Decimal(choice["price"]) if choice else Decimal("0")

    def _item_description(self, product: Record, line: Record, today: date) -> str:
        group = PRODUCT_GROUPS.get(product["gid"], "")
        text = f"{group} - {product['name']}" if group else product["name"]
        if line["months"]:
            end = add_months(today, line["months"]) - timedelta(days=1)
            text += f" ({today:%d/%m/%Y} - {end:%d/%m/%Y})"
        for option_id, value in line["options"].items():
            option = next(o for o in product["configoptions"] if o["id"] == option_id)
            text += f"\n{option['name']}: {self._option_label(option, value)}"
        return text

    @staticmethod
    def _option_label(option: Record, value: Any) -> str:
        if option["type"] == 4:
            return str(value)
        choice = next((c for c in option["options"] if c["id"] == _as_int(value)), None)
        return str(choice["name"]) if choice else str(value)

    def _create_invoice(self, client_id: int, gateway: str, items: list[Record], today: date) -> int:
        invoice_id = self._next_id("invoices")
        numbered = []
        for item in items:
            numbered.append({"id": self._next_id("invoiceitems"), "taxed": 0, **item})
        subtotal = sum((Decimal(item["amount"]) for item in items), Decimal("0"))
        stamp = self._timestamp()
        self.data["invoices"][str(invoice_id)] = {
            "id": invoice_id,
            "userid": client_id,
            "invoicenum": "",
            "date": today.isoformat(),
            "duedate": today.isoformat(),
            "datepaid": ZERO_DATETIME,
            "date_cancelled": ZERO_DATETIME,
            "date_refunded": ZERO_DATETIME,
            "status": "Unpaid",
            "paymentmethod": gateway,
            "notes": "",
            "subtotal": money(subtotal),
            "credit": "0.00",
            "tax": "0.00",
            "tax2": "0.00",
            "total": money(subtotal),
            "items": numbered,
            "transactions": [],
            "created_at": stamp,
            "updated_at": stamp,
        }
        return invoice_id

    def _pending_order(self, params: Params) -> Record:
        order = self.data["orders"].get(str(_as_int(params.get("orderid"))))
        if order is None or order["status"] != "Pending":
            raise ApiFailure("Order ID not found or Status not Pending")
        return order

    def accept_order(self, params: Params) -> Record:
        order = self._pending_order(params)
        order["status"] = "Active"
        for service_id in order["service_ids"]:
            service = self.data["services"].get(str(service_id))
            if service and service["status"] == "Pending":
                service["status"] = "Active"
        return {}

    def cancel_order(self, params: Params) -> Record:
        order = self._pending_order(params)
        order["status"] = "Cancelled"
        for service_id in order["service_ids"]:
            service = self.data["services"].get(str(service_id))
            if service and service["status"] == "Pending":
                service["status"] = "Cancelled"
        invoice = self.data["invoices"].get(str(order["invoiceid"]))
        if invoice and invoice["status"] == "Unpaid":
            invoice["status"] = "Cancelled"
            invoice["date_cancelled"] = self._timestamp()
        return {}

    def get_orders(self, params: Params) -> Record:
        rows = sorted(self.data["orders"].values(), key=lambda o: o["id"], reverse=True)
        if params.get("id"):
            rows = [o for o in rows if o["id"] == _as_int(params["id"])]
        if params.get("userid"):
            rows = [o for o in rows if o["userid"] == _as_int(params["userid"])]
        if params.get("status"):
            rows = [o for o in rows if o["status"].lower() == str(params["status"]).lower()]
        page, start, total = _page(rows, params)
        orders = [self._render_order(order) for order in page]
        return {
            "totalresults": total,
            "startnumber": start,
            "numreturned": len(orders),
            "orders": _wrapped("order", orders),
        }

    def _render_order(self, order: Record) -> Record:
        client = self.data["clients"].get(str(order["userid"]), {})
        invoice = self.data["invoices"].get(str(order["invoiceid"]))
        line_items = []
        for service_id in order["service_ids"]:
            service = self.data["services"].get(str(service_id))
            if service is None:
                continue
            product = self._product_record(service["pid"]) or {"name": ""}
            line_items.append(
                {
                    "type": "product",
                    "relid": service_id,
                    "producttype": "Other",
                    "product": product["name"],
                    "domain": "",
                    "billingcycle": service["billingcycle"],
                    "amount": f"{CURRENCY['prefix']}{service['firstpaymentamount']}{CURRENCY['suffix']}",
                    "status": service["status"],
                }
            )
        return {
            "id": order["id"],
            "ordernum": order["ordernum"],
            "userid": order["userid"],
            "contactid": 0,
            "requestor_id": client.get("owner_user_id", 0),
            "date": order["date"],
            "promocode": order["promocode"],
            "amount": order["amount"],
            "paymentmethod": order["paymentmethod"],
            "paymentmethodname": PAYMENT_GATEWAYS.get(order["paymentmethod"], ""),
            "invoiceid": order["invoiceid"],
            "status": order["status"],
            "ipaddress": order["ipaddress"],
            "fraudmodule": "",
            "fraudoutput": "",
            "notes": order["notes"],
            "paymentstatus": "Paid" if invoice and invoice["status"] == "Paid" else "Unpaid",
            "name": f"{client.get('firstname', '')} {client.get('lastname', '')}".strip(),
            "currencyprefix": CURRENCY["prefix"],
            "currencysuffix": CURRENCY["suffix"],
            "lineitems": {"lineitem": line_items},
        }

    # --- services -------------------------------------------------------------------------------

    def get_clients_products(self, params: Params) -> Record:
        rows = sorted(self.data["services"].values(), key=lambda s: s["id"])
        filters = {"clientid": "userid", "serviceid": "id", "pid": "pid"}
        for param, field in filters.items():
            if params.get(param):
                rows = [s for s in rows if s[field] == _as_int(params[param])]
        if "limitnum" not in params:
            # UNVERIFIED quirk: without limitnum WHMCS may return everything.
            params = {**params, "limitnum": max(len(rows), 1)}
        page, start, total = _page(rows, params)
        products = [self._render_service(service) for service in page]
        return {
            "clientid": params.get("clientid") or None,
            "serviceid": params.get("serviceid") or None,
            "pid": params.get("pid") or None,
            "domain": params.get("domain") or None,
            "totalresults": str(total),
            "startnumber": start,
            "numreturned": len(products),
            "products": _wrapped("product", products),
        }

    def _render_service(self, service: Record) -> Record:
        product = self._product_record(service["pid"]) or {"name": "", "gid": 0, "configoptions": []}
        order = self.data["orders"].get(str(service["orderid"]), {})
        options = []
        for option in product["configoptions"]:
            key = str(option["id"])
            if key in service["configoptions"]:
                options.append(
                    {
                        "id": str(option["id"]),
                        "option": option["name"],
                        "type": CONFIG_OPTION_TYPES.get(option["type"], "dropdown"),
                        "value": self._option_label(option, service["configoptions"][key]),
                    }
                )
        return {
            "id": str(service["id"]),
            "qty": "1",
            "clientid": str(service["userid"]),
            "orderid": str(service["orderid"]),
            "ordernumber": order.get("ordernum", ""),
            "pid": str(service["pid"]),
            "regdate": service["regdate"],
            "name": product["name"],
            "translated_name": product["name"],
            "groupname": PRODUCT_GROUPS.get(product["gid"], ""),
            "translated_groupname": PRODUCT_GROUPS.get(product["gid"], ""),
            "domain": service["domain"],
            "dedicatedip": "",
            "serverid": "0",
            "servername": "",
            "serverip": None,
            "serverhostname": None,
            "suspensionreason": "",
            "firstpaymentamount": service["firstpaymentamount"],
            "recurringamount": service["recurringamount"],
            "paymentmethod": service["paymentmethod"],
            "paymentmethodname": PAYMENT_GATEWAYS.get(service["paymentmethod"], ""),
            "billingcycle": service["billingcycle"],
            "nextduedate": service["nextduedate"],
            "status": service["status"],
            "username": service["username"],
            "password": "",
            "subscriptionid": "",
            "promoid": "0",
            "overideautosuspend": "0",
            "overidesuspenduntil": ZERO_DATE,
            "ns1": "",
            "ns2": "",
            "assignedips": "",
            "notes": service["notes"],
            "diskusage": "0",
            "disklimit": "0",
            "bwusage": "0",
            "bwlimit": "0",
            "lastupdate": ZERO_DATETIME,
            "customfields": {"customfield": []},
            "configoptions": {"configoption": options},
        }

    def _service(self, params: Params, message: str) -> Record:
        service = self.data["services"].get(str(_as_int(params.get("serviceid"))))
        if service is None:
            raise ApiFailure(message)
        return service

    def update_client_product(self, params: Params) -> Record:
        service = self._service(params, "Service ID Not Found")
        if "status" in params:
            status = str(params["status"])
            if status not in SERVICE_STATUSES:
                raise ApiFailure(f"Invalid status: {status}")
            service["status"] = status
        if "pid" in params:
            if self._product_record(_as_int(params["pid"])) is None:
                raise ApiFailure("Invalid Product ID")
            service["pid"] = _as_int(params["pid"])
        for field in ("nextduedate", "regdate", "terminationdate", "domain", "notes", "paymentmethod"):
            if field in params:
                service[field] = str(params[field])
        if "serviceusername" in params:
            service["username"] = str(params["serviceusername"])
        for field in ("firstpaymentamount", "recurringamount"):
            if field in params:
                service[field] = money(str(params[field]))
        if "billingcycle" in params:
            key = str(params["billingcycle"]).lower().replace("-", "").replace(" ", "")
            service["billingcycle"] = BILLING_CYCLES.get(key, (str(params["billingcycle"]), 0))[0]
        if params.get("configoptions"):
            product = self._product_record(service["pid"]) or {"configoptions": []}
            options = self._decode_options(product, params["configoptions"])
            service["configoptions"].update({str(k): v for k, v in options.items()})
        return {"serviceid": service["id"]}

    def module_terminate(self, params: Params) -> Record:
        service = self._service(params, "Service ID not found")
        product = self._product_record(service["pid"]) or {}
        if not product.get("module"):
            raise ApiFailure("Service not assigned to a module")
        service["status"] = "Terminated"
        service["terminationdate"] = self.today().isoformat()
        return {}

    # --- invoices and pay methods ---------------------------------------------------------------

    def get_invoices(self, params: Params) -> Record:
        rows = sorted(self.data["invoices"].values(), key=lambda i: i["id"])
        if params.get("userid"):
            rows = [i for i in rows if i["userid"] == _as_int(params["userid"])]
        status = str(params.get("status", "")).strip()
        if status.lower() == "overdue":
            today = self.today().isoformat()
            rows = [i for i in rows if i["status"] == "Unpaid" and i["duedate"] < today]
        elif status:
            rows = [i for i in rows if i["status"].lower() == status.lower()]
        if str(params.get("order", "asc")).lower() == "desc":
            rows.reverse()
        page, start, total = _page(rows, params)
        invoices = [self._render_invoice_row(invoice) for invoice in page]
        return {
            "totalresults": total,
            "startnumber": start,
            "numreturned": len(invoices),
            "invoices": _wrapped("invoice", invoices),
        }

    def _render_invoice_row(self, invoice: Record) -> Record:
        client = self.data["clients"].get(str(invoice["userid"]), {})
        return {
            "id": invoice["id"],
            "userid": invoice["userid"],
            "firstname": client.get("firstname", ""),
            "lastname": client.get("lastname", ""),
            "companyname": client.get("companyname", ""),
            "invoicenum": invoice["invoicenum"],
            "date": invoice["date"],
            "duedate": invoice["duedate"],
            "datepaid": invoice["datepaid"],
            "last_capture_attempt": ZERO_DATETIME,
            "date_refunded": invoice["date_refunded"],
            "date_cancelled": invoice["date_cancelled"],
            "subtotal": invoice["subtotal"],
            "credit": invoice["credit"],
            "tax": invoice["tax"],
            "tax2": invoice["tax2"],
            "total": invoice["total"],
            "taxrate": "0.000",
            "taxrate2": "0.000",
            "status": invoice["status"],
            "paymentmethod": invoice["paymentmethod"],
            "paymethodid": None,
            "notes": invoice["notes"],
            "created_at": invoice["created_at"],
            "updated_at": invoice["updated_at"],
            "currencycode": CURRENCY["code"],
            "currencyprefix": CURRENCY["prefix"],
            "currencysuffix": CURRENCY["suffix"],
        }

    def get_invoice(self, params: Params) -> Record:
        invoice = self.data["invoices"].get(str(_as_int(params.get("invoiceid"))))
        if invoice is None:
            raise ApiFailure("Invoice ID Not Found")
        paid = sum(
            (Decimal(t["amountin"]) - Decimal(t["amountout"]) for t in invoice["transactions"]), Decimal()
        )
        balance = Decimal(invoice["total"]) - paid if invoice["status"] != "Cancelled" else Decimal("0")
        return {
            "invoiceid": str(invoice["id"]),
            "invoicenum": invoice["invoicenum"],
            "userid": str(invoice["userid"]),
            "date": invoice["date"],
            "duedate": invoice["duedate"],
            "datepaid": invoice["datepaid"],
            "lastcaptureattempt": ZERO_DATETIME,
            "subtotal": invoice["subtotal"],
            "credit": invoice["credit"],
            "tax": invoice["tax"],
            "tax2": invoice["tax2"],
            "total": invoice["total"],
            "balance": money(balance),
            "taxrate": "0.000",
            "taxrate2": "0.000",
            "status": invoice["status"],
            "paymentmethod": invoice["paymentmethod"],
            "notes": invoice["notes"],
            "ccgateway": invoice["paymentmethod"] == "stripe",
            "items": {
                "item": [
                    {
                        "id": str(item["id"]),
                        "type": item["type"],
                        "relid": str(item["relid"]),
                        "description": item["description"],
                        "amount": item["amount"],
                        "taxed": str(item["taxed"]),
                    }
                    for item in invoice["items"]
                ]
            },
            "transactions": _wrapped("transaction", [dict(t) for t in invoice["transactions"]]),
        }

    def get_pay_methods(self, params: Params) -> Record:
        if not params.get("clientid"):
            raise ApiFailure("Client ID Is Required")
        client = self._client(params, message="Client Not Found")
        rows = sorted(self._client_rows("paymethods", client["id"]), key=lambda p: p["id"])
        if params.get("paymethodid"):
            rows = [p for p in rows if p["id"] == _as_int(params["paymethodid"])]
        if params.get("type"):
            rows = [p for p in rows if p["type"].lower() == str(params["type"]).lower()]
        return {
            "clientid": client["id"],
            "paymethods": [
                {key: value for key, value in row.items() if key != "userid"} | {"contact_id": client["id"]}
                for row in rows
            ],
        }

    # --- catalog --------------------------------------------------------------------------------

    def get_products(self, params: Params) -> Record:
        rows = sorted(self.data["products"].values(), key=lambda p: p["pid"])
        if params.get("pid"):
            wanted = {_as_int(pid) for pid in str(params["pid"]).split(",")}
            rows = [p for p in rows if p["pid"] in wanted]
        if params.get("gid"):
            rows = [p for p in rows if p["gid"] == _as_int(params["gid"])]
        if params.get("module"):
            rows = [p for p in rows if p["module"] == params["module"]]
        products = [
            {
                "pid": str(p["pid"]),
                "gid": str(p["gid"]),
                "type": "other",
                "name": p["name"],
                "slug": p["slug"],
                "product-url": f"https://billing.example.test/store/{p['slug']}",
                "description": p["description"],
                "module": p["module"],
                "paytype": p["paytype"],
                "allowqty": "0",
                "quantity_available": "0",
                "pricing": {
                    CURRENCY["code"]: {
                        "prefix": CURRENCY["prefix"],
                        "suffix": CURRENCY["suffix"],
                        **p["pricing"],
                    }
                },
                "customfields": {"customfield": []},
                "configoptions": {
                    "configoption": [
                        {
                            "id": option["id"],
                            "name": option["name"],
                            "type": str(option["type"]),
                            "minqty": "0",
                            "maxqty": "0",
                            "options": {
                                "option": [
                                    {"id": choice["id"], "name": choice["name"], "recurring": choice["price"]}
                                    for choice in option["options"]
                                ]
                            },
                        }
                        for option in p["configoptions"]
                    ]
                },
            }
            for p in rows
        ]
        return {"totalresults": len(products), "products": _wrapped("product", products)}

    # --- single sign-on and the client area ------------------------------------------------------

    def create_sso_token(self, params: Params) -> Record:
        client = self.data["clients"].get(str(_as_int(params.get("client_id"))))
        if client is None:
            raise ApiFailure("Invalid client_id")
        destination = str(params.get("destination") or "clientarea:homepage")
        if destination not in SSO_DESTINATIONS:
            raise ApiFailure("Invalid destination")
        path = SSO_DESTINATIONS[destination]
        if destination == "sso:custom_redirect":
            path = (
                str(params.get("sso_redirect_path") or "").lstrip("/")
                or SSO_DESTINATIONS["clientarea:homepage"]
            )
        token = uuid.uuid4().hex + uuid.uuid4().hex[:8]
        expires = self.now() + timedelta(seconds=SSO_TOKEN_SECONDS)
        self.data["sso_tokens"][token] = {
            "client_id": client["id"],
            "path": path,
            "expires_at": expires.isoformat(),
        }
        return {
            "access_token": token,
            "redirect_url": f"{self.public_url}/oauth/singlesignon.php?access_token={token}",
        }

    def redeem_sso_token(self, token: str) -> tuple[int, str]:
        """The client id and client-area path of a token, which is spent; expired, unknown or
        already used tokens raise :class:`ApiFailure`."""
        with self.lock:
            record = self.data["sso_tokens"].pop(token, None)
            self.save()
        if record is None or datetime.fromisoformat(record["expires_at"]) < self.now():
            raise ApiFailure("Invalid or expired access token", status=403)
        return int(record["client_id"]), str(record["path"])

    # --- admin helpers (what an operator would do in the WHMCS admin area) -----------------------

    def add_pay_method(
        self,
        client_id: int,
        *,
        type: str = "CreditCard",
        card_last_four: str = "4242",
        expiry: str = "12/30",
        card_type: str = "Visa",
        description: str = "",
        gateway_name: str = "stripe",
        bank_name: str = "",
    ) -> int:
        """Store a card (``expiry`` as ``MM/YY``) or, with ``type="BankAccount"``, a bank account."""
        with self.lock:
            if str(client_id) not in self.data["clients"]:
                raise ApiFailure("Client Not Found")
            is_card = "card" in type.lower()
            pay_method_id = self._next_id("paymethods")
            self.data["paymethods"][str(pay_method_id)] = {
                "id": pay_method_id,
                "userid": client_id,
                "type": type,
                "description": description,
                "gateway_name": gateway_name,
                "contact_type": "Client",
                "contact_id": client_id,
                "card_last_four": card_last_four if is_card else "",
                "expiry_date": expiry if is_card else "",
                "start_date": "",
                "issue_number": "",
                "card_type": card_type if is_card else "",
                "bank_name": bank_name if not is_card else "",
                "remote_token": f"tok_emulated_{pay_method_id}",
                "last_updated": self.now().strftime("%d/%m/%Y %H:%M"),
            }
            self.save()
            return pay_method_id

    def set_product_price(
        self, pid: int, cycle: str = "monthly", price: str = "0.00", setup_fee: str | None = None
    ) -> None:
        """Change a product's price for one cycle (``"-1.00"``: not offered), as an admin would in
        Products/Services > Pricing; for a one-time product the cycle is ``monthly``."""
        with self.lock:
            product = self._product_record(int(pid))
            if product is None:
                raise ApiFailure(f"Invalid Product ID: {pid}")
            if cycle not in SETUP_FEE_KEY:
                raise ApiFailure(f"Invalid Billing Cycle: {cycle}")
            product["pricing"][cycle] = money(Decimal(str(price)))
            if setup_fee is not None:
                product["pricing"][SETUP_FEE_KEY[cycle]] = money(Decimal(str(setup_fee)))
            self.save()

    def mark_invoice_paid(self, invoice_id: int, *, transaction_id: str = "", gateway: str = "") -> None:
        """Record a full payment: the invoice becomes Paid and its services' next due date moves
        one billing cycle on."""
        with self.lock:
            invoice = self.data["invoices"].get(str(invoice_id))
            if invoice is None:
                raise ApiFailure("Invoice ID Not Found")
            stamp = self._timestamp()
            invoice.update(status="Paid", datepaid=stamp, updated_at=stamp)
            invoice["transactions"].append(
                {
                    "id": self._next_id("transactions"),
                    "userid": invoice["userid"],
                    "currency": "0",
                    "gateway": gateway or invoice["paymentmethod"],
                    "date": stamp,
                    "description": f"Invoice Payment (Invoice #{invoice_id})",
                    "amountin": invoice["total"],
                    "fees": "0.00",
                    "amountout": "0.00",
                    "rate": "1.00000",
                    "transid": transaction_id or f"emulated-{invoice_id}",
                    "invoiceid": str(invoice_id),
                    "refundid": "0",
                }
            )
            for item in invoice["items"]:
                service = self.data["services"].get(str(item["relid"])) if item["type"] == "Hosting" else None
                if service is None or service["nextduedate"] == ZERO_DATE:
                    continue
                months = next(
                    (m for name, m in BILLING_CYCLES.values() if name == service["billingcycle"]), 0
                )
                if months:
                    due = date.fromisoformat(service["nextduedate"])
                    service["nextduedate"] = add_months(due, months).isoformat()
            self.save()

    def set_invoice_status(self, invoice_id: int, status: str) -> None:
        with self.lock:
            invoice = self.data["invoices"].get(str(invoice_id))
            if invoice is None:
                raise ApiFailure("Invoice ID Not Found")
            if status not in INVOICE_STATUSES:
                raise ApiFailure(f"Invalid status: {status}")
            invoice["status"] = status
            self.save()

    def set_service_status(self, service_id: int, status: str) -> None:
        with self.lock:
            self.update_client_product({"serviceid": service_id, "status": status})
            self.save()

    def delete_service(self, service_id: int) -> None:
        """Delete a service outright, as an admin can in the client's Products tab."""
        with self.lock:
            if self.data["services"].pop(str(service_id), None) is None:
                raise ApiFailure("Service ID Not Found")
            self.save()

    def delete_pay_method(self, pay_method_id: int) -> None:
        """Remove a stored card or bank account, as the client or an admin can."""
        with self.lock:
            if self.data["paymethods"].pop(str(pay_method_id), None) is None:
                raise ApiFailure("Pay Method ID Not Found")
            self.save()
