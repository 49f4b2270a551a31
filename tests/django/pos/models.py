import os
import uuid

from django.db import models

# tests/proof/django_test.ts starts one backend whose status values are lower case, as some POS
# backends write them (the agent's selftest must say it cannot work with them)
LOWER = os.environ.get("PRINTJOBS_LOWER_CASE_STATUS") == "1"


class PrintJob(models.Model):
    """One print job for a terminal; the agent moves it PENDING → … → COMPLETED | FAILED."""

    STATUSES = [
        (s.lower() if LOWER else s, s)
        for s in ["PENDING", "FETCHED", "PRINTING", "COMPLETED", "FAILED"]
    ]
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    terminal_id = models.CharField(max_length=64)
    printer_role = models.CharField(max_length=32, null=True, blank=True)
    job_type = models.CharField(max_length=16, default="receipt")
    priority = models.IntegerField(default=0)
    status = models.CharField(max_length=16, choices=STATUSES, default=STATUSES[0][0])
    attempts = models.IntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    receipt_data = models.JSONField(null=True, blank=True)
    raw_base64 = models.TextField(null=True, blank=True)
    reprint_of = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]


class AgentHeartbeat(models.Model):
    """The last heartbeat of each terminal's agent."""

    terminal_id = models.CharField(max_length=64, unique=True)
    body = models.JSONField()
    selftest = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now=True)
