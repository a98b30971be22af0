from django.contrib import admin

from apps.opportunities.models import Case, Opportunity


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "product_type", "stage", "whmcs_service_id", "salesforce_id", "synced_at")
    list_filter = ("product_type", "stage", "source", "line_return_status")
    search_fields = ("name", "user__email", "salesforce_id", "whmcs_service_id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("subject", "user", "type", "status", "origin", "created_at", "salesforce_id")
    list_filter = ("type", "status", "origin", "priority")
    search_fields = ("subject", "case_number", "user__email", "salesforce_id")
    list_select_related = ("user",)
    raw_id_fields = ("user", "opportunity")
