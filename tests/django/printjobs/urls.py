from django.urls import include, path
from rest_framework.routers import DefaultRouter

from pos.views import HeartbeatView, PrintJobViewSet

router = DefaultRouter()
router.register("print-jobs", PrintJobViewSet)

urlpatterns = [
    path("api/print-agents/heartbeat/", HeartbeatView.as_view()),
    path("api/", include(router.urls)),
]
