from django.contrib import admin
from django.http import HttpRequest

from apps.opportunities.models import Case, CaseComment, Opportunity


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "product_type", "stage", "whmcs_service_id", "salesforce_id", "synced_at")
    list_filter = ("product_type", "stage", "source", "line_return_status")
    search_fields = ("name", "user__email", "salesforce_id", "whmcs_service_id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


class CaseCommentInline(admin.TabularInline):
    """The Case's comments, read-only: they are written by the support API, the console's reply
    and the comment sync, each of which also tells Salesforce."""

    model = CaseComment
    extra = 0
    can_delete = False
    fields = ("created_at", "from_agent", "author_name", "is_public", "body", "salesforce_id", "synced_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Case | None = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("subject", "user", "type", "status", "origin", "created_at", "salesforce_id")
    list_filter = ("type", "status", "origin", "priority")
    search_fields = ("subject", "case_number", "user__email", "salesforce_id")
    list_select_related = ("user",)
    raw_id_fields = ("user", "opportunity")
    inlines = (CaseCommentInline,)
