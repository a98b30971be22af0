from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.serializers import RegistrationInputSerializer
from apps.catalog.models import ProductType
from apps.checkout.models import ActivationStatus, Order, OrderItem, OrderStatus
from apps.checkout.services import MAX_ORDER_LINES, OrderLine
from portal.api import DatabaseIdField
from portal.fields import EnumField, MoneyField, wire_choices

ORDER_ACTIVATION_STATUSES = wire_choices(ActivationStatus.choices)


class CheckoutRegistrationInputSerializer(RegistrationInputSerializer):
    """Sign-up during checkout: the customer's details plus what they are about to order."""

    order_type = serializers.ChoiceField(choices=ProductType.choices)


# --- Orders -------------------------------------------------------------------------------------


# The product type under its one schema name, `ProductType` (ENUM_NAME_OVERRIDES), as the
# checkout registration's `order_type` and the catalog name it too.
class ProductTypeField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ProductType.choices, **kwargs)


class OrderItemInputSerializer(serializers.Serializer):
    product_id = DatabaseIdField(help_text=_("A catalog item's `id`."))
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)


class OrderCreateInputSerializer(serializers.Serializer):
    """What the customer orders. `opportunity_id` is optional: the portal finds or opens the
    Opportunity the order belongs to."""

    product_type = ProductTypeField()
    items = serializers.ListField(
        child=OrderItemInputSerializer(), allow_empty=False, max_length=MAX_ORDER_LINES
    )
    opportunity_id = DatabaseIdField(required=False, allow_null=True, default=None)

    def to_lines(self) -> list[OrderLine]:
        return [
            OrderLine(product_id=item["product_id"], quantity=item["quantity"])
            for item in self.validated_data["items"]
        ]


# Activation error codes that are safe and useful to show a customer, each with its own advice.
# Any other code, and every error message (it comes from WHMCS or Salesforce and may describe
# internals), stays in the agent console; the customer sees only the generic message.
CUSTOMER_ACTIVATION_ERRORS: dict[str, Any] = {
    "PAYMENT_METHOD_MISSING": _("Please add a payment method so that we can complete your order."),
    "PAYMENT_FAILED": _("Your payment could not be processed. Please check your payment method."),
}
GENERIC_ACTIVATION_ERROR = _(
    "We couldn't complete your order. Our team has been notified and will contact you."
)


ORDER_ACTIVATION_ERROR_CODES = wire_choices([(code, code) for code in CUSTOMER_ACTIVATION_ERRORS])


class OrderActivationErrorSerializer(serializers.Serializer):
    """Why activation failed, as far as the customer should know. `code` is null unless it is one
    the client may act on (`payment_method_missing`, `payment_failed`)."""

    code = EnumField(
        choices=[(code, code) for code in CUSTOMER_ACTIVATION_ERRORS],
        allow_null=True,
        help_text="Null when the failure is not one the customer can fix.",
    )
    message = serializers.CharField()


class OrderItemOutputSerializer(serializers.ModelSerializer[OrderItem]):
    product_name = serializers.CharField(source="product.name")
    sku = serializers.CharField(source="product.sku")
    item_class = serializers.CharField(source="product.item_class")
    unit_price = MoneyField(currency="order.currency_code")
    line_total = MoneyField(currency="order.currency_code")

    class Meta:
        model = OrderItem
        fields = [
            "id",
            "product_id",
            "product_name",
            "sku",
            "item_class",
            "quantity",
            "unit_price",
            "billing_cycle",
            "line_total",
        ]
        read_only_fields = fields


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    """An order as the customer sees it. `number` is Salesforce's order number (null until
    Salesforce has the order and the mirror has caught up); `submitted_to_salesforce` says
    whether Salesforce has it yet. Money (`total`, each item's `unit_price` and `line_total`) is an
    integer in the minor unit of `currency` (whole yen for JPY). `rejection_reason` and
    `hold_reason` are what our team wrote when it rejected the order or put it on hold, as text."""

    number = serializers.SerializerMethodField()
    product_type = ProductTypeField()
    activation_status = EnumField(
        choices=ActivationStatus.choices,
        allow_null=True,
        help_text="Null until the order is approved and activation starts.",
    )
    total = MoneyField(source="total_amount")
    currency = serializers.CharField(source="currency_code")
    activation_error = serializers.SerializerMethodField()
    rejection_reason = serializers.SerializerMethodField(
        help_text="Why our team rejected the order (it is `cancelled`); null otherwise."
    )
    hold_reason = serializers.SerializerMethodField(
        help_text="Why our team put the order on hold (it stays `pending_review` until released); "
        "null when it is not on hold."
    )
    submitted_to_salesforce = serializers.SerializerMethodField()
    items = OrderItemOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "rejection_reason",
            "hold_reason",
            "product_type",
            "activation_status",
            "activation_error",
            "opportunity_id",
            "effective_date",
            "items",
            "total",
            "currency",
            "created_at",
            "submitted_to_salesforce",
        ]
        read_only_fields = fields

    def get_number(self, order: Order) -> str | None:
        return order.order_number or None

    def get_submitted_to_salesforce(self, order: Order) -> bool:
        return bool(order.salesforce_id)

    # Only while the decision stands: a rejection's reason once the order is cancelled, a hold's
    # while the order still waits for review (the console's own test for "on hold").
    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rejection_reason(self, order: Order) -> str | None:
        if order.status != OrderStatus.CANCELLED:
            return None
        return order.rejection_reason or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_hold_reason(self, order: Order) -> str | None:
        if order.held_at is None or order.status != OrderStatus.PENDING_REVIEW:
            return None
        return order.hold_reason or None

    @extend_schema_field(OrderActivationErrorSerializer(allow_null=True))
    def get_activation_error(self, order: Order) -> dict[str, Any] | None:
        if order.activation_status != ActivationStatus.FAILED:
            return None
        advice = CUSTOMER_ACTIVATION_ERRORS.get(order.activation_error_code)
        if advice is None:
            return OrderActivationErrorSerializer(
                {"code": None, "message": str(GENERIC_ACTIVATION_ERROR)}
            ).data
        return OrderActivationErrorSerializer(
            {"code": order.activation_error_code, "message": str(advice)}
        ).data


class OrderPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutputSerializer(many=True)

    class Meta:
        ref_name = "PaginatedOrderList"
