from rest_framework import serializers

from .models import PrintJob


class PrintJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = PrintJob
        fields = "__all__"
        read_only_fields = ["id", "created_at", "updated_at"]
