"""The console's issuer companies page: the tenant's own companies, which issue invoices."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from saas.console import services as console
from saas.console.blueprint import bp, staff
from saas.console.forms import CompanyForm
from saas.einvoice.taxids import InvalidTaxId, normalize_tax_id
from saas.htmx import render
from saas.permissions import requires
from saas.tenancy import current_tenant
from saas.validation import email_address


@bp.route("/t/<tenant>/console/companies", methods=["GET", "POST"])
@requires("companies.manage")
def companies():
    form = CompanyForm()
    # Every field is checked, the tax id's rules too, so all the mistakes show at once.
    valid = request.method == "POST" and form.validate()
    tax_id = None
    if request.method == "POST" and not form.tax_id.errors:
        try:
            tax_id = normalize_tax_id(current_tenant.country, form.tax_id.data)
        except InvalidTaxId:
            form.tax_id.errors = [
                _("This is not a valid %(label)s.", label=current_tenant.tax_id_label)
            ]
    if valid and tax_id is not None:
        try:
            company = console.save_issuer_company(
                current_tenant,
                staff(),
                tax_id=tax_id,
                name=form.name.data.strip(),
                email=email_address(form.email.data) if form.email.data else None,
            )
        except console.CustomerTaxId:
            form.tax_id.errors = [_("This tax ID belongs to one of your customers.")]
        else:
            flash(_("%(name)s saved.", name=company.name), "success")
            return redirect(url_for("console.companies"), 303)
    status = 422 if request.method == "POST" else 200
    return render(
        "console/companies.html", status=status, form=form, companies=console.issuer_companies()
    )
