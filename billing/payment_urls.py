from django.urls import path

from billing import payment_views

urlpatterns = [
    path("", payment_views.payment_list, name="payment_list"),
    path("<int:pk>/receipt/", payment_views.payment_receipt, name="payment_receipt"),
]
