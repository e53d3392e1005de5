from django.urls import path

from billing import demo_views, views

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("zip/", views.invoice_zip, name="invoice_zip"),
    path("pay/", views.pay_selected, name="pay_selected"),
    path("demo-checkout/<str:stripe_id>/", demo_views.demo_checkout, name="demo_checkout"),
    path("<str:number>/", views.invoice_detail, name="invoice_detail"),
    path("<str:number>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("<str:number>/pay/", views.invoice_pay, name="invoice_pay"),
]
