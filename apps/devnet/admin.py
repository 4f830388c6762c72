from django.contrib import admin

from .models import SeededHistory


@admin.register(SeededHistory)
class SeededHistoryAdmin(admin.ModelAdmin):
    list_display = ["feed", "start", "end", "rows", "created_at"]
    list_select_related = ["feed__protocol", "feed__pair", "feed__chain"]
    search_fields = ["feed__key"]
    raw_id_fields = ["feed"]
