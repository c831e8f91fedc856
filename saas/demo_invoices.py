"""Electronic invoices made to order, for the demo and the tests.

Small but complete documents of the three national formats, with a one-page PDF,
so that `make run` shows a portal with real-looking invoices.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape


def ubl_invoice(
    number: str,
    *,
    issuer: tuple[str, str, str] = ("900123456", "8", "Intertec S.A.S."),
    customer: tuple[str, str, str] = ("800765432", "3", "Distribuidora Andina S.A.S."),
    email: str | None = "compras@andina.example",
    issue_date: date = date(2026, 1, 15),
    total: str = "119000.00",
    tax: str = "19000.00",
) -> bytes:
    """A DIAN UBL 2.1 invoice; (nit, check digit, name) per party; the CUFE follows the number."""
    cufe = hashlib.sha384(f"cufe-{number}".encode()).hexdigest()
    contact = (
        f"<cac:Contact><cbc:ElectronicMail>{escape(email)}</cbc:ElectronicMail></cac:Contact>"
        if email
        else ""
    )

    def party(nit, dv, name, extra=""):
        return (
            "<cac:Party><cac:PartyTaxScheme>"
            f"<cbc:RegistrationName>{escape(name)}</cbc:RegistrationName>"
            f'<cbc:CompanyID schemeID="{dv}" schemeName="31">{nit}</cbc:CompanyID>'
            f"</cac:PartyTaxScheme>{extra}</cac:Party>"
        )

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>
  <cbc:ProfileID>DIAN 2.1</cbc:ProfileID>
  <cbc:ID>{escape(number)}</cbc:ID>
  <cbc:UUID schemeID="2" schemeName="CUFE-SHA384">{cufe}</cbc:UUID>
  <cbc:IssueDate>{issue_date.isoformat()}</cbc:IssueDate>
  <cbc:InvoiceTypeCode>01</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>COP</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty>{party(*issuer)}</cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>{party(*customer, contact)}</cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="COP">{tax}</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:PayableAmount currencyID="COP">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
""".encode()


def fatturapa_invoice(
    number: str,
    *,
    issuer: tuple[str, str] = ("01234560017", "Fatture Adriatica S.r.l."),
    customer: tuple[str, str] = ("02468130584", "Rossi Costruzioni S.r.l."),
    pec: str | None = "amministrazione@pec.rossi.example",
    issue_date: date = date(2026, 1, 15),
    taxable: str = "1000.00",
    vat: str = "220.00",
) -> bytes:
    """A FatturaPA 1.2 (FPR12) invoice with one body."""
    total = Decimal(taxable) + Decimal(vat)
    pec_xml = f"<PECDestinatario>{escape(pec)}</PECDestinatario>" if pec else ""

    def party(tag, vat_number, name):
        return (
            f"<{tag}><DatiAnagrafici><IdFiscaleIVA><IdPaese>IT</IdPaese>"
            f"<IdCodice>{vat_number}</IdCodice></IdFiscaleIVA>"
            f"<Anagrafica><Denominazione>{escape(name)}</Denominazione></Anagrafica>"
            "<RegimeFiscale>RF01</RegimeFiscale></DatiAnagrafici>"
            "<Sede><Indirizzo>Via Roma 1</Indirizzo><CAP>60121</CAP><Comune>Ancona</Comune>"
            f"<Nazione>IT</Nazione></Sede></{tag}>"
        )

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica versione="FPR12"
  xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{issuer[0]}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>{escape(number)[-10:]}</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>0000000</CodiceDestinatario>
      {pec_xml}
    </DatiTrasmissione>
    {party("CedentePrestatore", *issuer)}
    {party("CessionarioCommittente", *customer)}
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali><DatiGeneraliDocumento>
      <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa>
      <Data>{issue_date.isoformat()}</Data><Numero>{escape(number)}</Numero>
      <ImportoTotaleDocumento>{total:.2f}</ImportoTotaleDocumento>
    </DatiGeneraliDocumento></DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee><NumeroLinea>1</NumeroLinea><Descrizione>Servizi</Descrizione>
        <PrezzoUnitario>{taxable}</PrezzoUnitario><PrezzoTotale>{taxable}</PrezzoTotale>
        <AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>
      <DatiRiepilogo><AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>{taxable}</ImponibileImporto>
        <Imposta>{vat}</Imposta></DatiRiepilogo>
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
""".encode()


def cfdi_invoice(
    serie: str,
    folio: str,
    *,
    issuer: tuple[str, str] = ("AZT010101AB1", "COMERCIALIZADORA AZTECA"),
    customer: tuple[str, str] = ("MEX920315KL2", "COMERCIAL MEXICANA DEL CENTRO"),
    issue_date: date = date(2026, 1, 15),
    subtotal: str = "1000.00",
    iva: str = "160.00",
) -> bytes:
    """A stamped CFDI 4.0 ingreso; the fiscal UUID follows serie and folio."""
    fiscal_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cfdi/{serie}/{folio}")).upper()
    total = Decimal(subtotal) + Decimal(iva)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4"
  xmlns:tfd="http://www.sat.gob.mx/TimbreFiscalDigital" Version="4.0"
  Serie="{serie}" Folio="{folio}" Fecha="{issue_date.isoformat()}T10:00:00"
  SubTotal="{subtotal}" Moneda="MXN" Total="{total:.2f}" TipoDeComprobante="I"
  Exportacion="01" LugarExpedicion="06000">
  <cfdi:Emisor Rfc="{issuer[0]}" Nombre="{escape(issuer[1])}" RegimenFiscal="601"/>
  <cfdi:Receptor Rfc="{customer[0]}" Nombre="{escape(customer[1])}" DomicilioFiscalReceptor="06000"
    RegimenFiscalReceptor="601" UsoCFDI="G03"/>
  <cfdi:Conceptos>
    <cfdi:Concepto ClaveProdServ="01010101" Cantidad="1" ClaveUnidad="E48" Descripcion="Servicio"
      ValorUnitario="{subtotal}" Importe="{subtotal}" ObjetoImp="02"/>
  </cfdi:Conceptos>
  <cfdi:Impuestos TotalImpuestosTrasladados="{iva}"/>
  <cfdi:Complemento>
    <tfd:TimbreFiscalDigital Version="1.1" UUID="{fiscal_uuid}"
      FechaTimbrado="{issue_date.isoformat()}T10:05:00" RfcProvCertif="SAT970701NN3"/>
  </cfdi:Complemento>
</cfdi:Comprobante>
""".encode()


def simple_pdf(*lines: str) -> bytes:
    """A valid one-page PDF showing `lines` (ASCII), for demo and test attachments."""
    text = (
        "BT /F1 14 Tf 72 760 Td 18 TL "
        + " ".join(
            "("
            + line.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
            + ") '"
            for line in lines
        )
        + " ET"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
