from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import AgentHeartbeat, PrintJob
from .serializers import PrintJobSerializer


class PrintJobViewSet(viewsets.ModelViewSet):
    """The stock viewset: list with filters, PATCH to update a job's status."""

    queryset = PrintJob.objects.all()
    serializer_class = PrintJobSerializer
    filterset_fields = ["terminal_id", "status", "printer_role"]
    ordering_fields = ["id", "created_at", "priority"]


class HeartbeatView(APIView):
    """POST /api/print-agents/heartbeat/: keeps the last heartbeat of each terminal."""

    def post(self, request):
        terminal = request.data.get("terminal_id")
        if not terminal:
            return Response({"terminal_id": ["This field is required."]}, status=400)
        selftest = bool(request.data.get("selftest"))
        beat, created = AgentHeartbeat.objects.get_or_create(
            terminal_id=terminal, defaults={"body": request.data, "selftest": selftest}
        )
        if not created and not selftest:
            # a selftest never overwrites what the running agent said
            beat.body, beat.selftest = request.data, False
            beat.save()
        return Response({"ok": True}, status=status.HTTP_200_OK)
