"""Printed documents of a station (PDF, fpdf2, pure Python): the credentials sheet, the
émargement list (the paper fallback when the tablet or the network fails) and a blank PV.

Fonts: DejaVu Sans, shipped in `polling/fonts/` (any name of the electoral lists prints, with
its accents, particles and letters of other alphabets). Everything is in French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from fpdf import FPDF

from polling import codes

FONTS = Path(__file__).parent / "fonts"
GREY = (110, 110, 110)


def _clock(value: time) -> str:
    return f"{value.hour}h{value.minute:02d}" if value.minute else f"{value.hour}h"


def _hours(opens: time, closes: time) -> str:
    return f"{_clock(opens)} à {_clock(closes)}"


def _day(value: date) -> str:
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]
    days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    return f"{days[value.weekday()]} {value.day} {months[value.month - 1]} {value.year}"


class _Document(FPDF):
    def __init__(self, title: str, orientation: str = "P") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("primaires")
        self.set_auto_page_break(True, margin=15)
        self.footer_text = ""

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.footer_text}   —   page {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str, size: int = 15) -> None:
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, size * 0.5, text)
        self.ln(1)

    def para(self, text: str, size: float = 10, bold: bool = False) -> None:
        self.set_font("DejaVu", "B" if bold else "", size)
        self.multi_cell(0, size * 0.48, text)
        self.ln(1)

    def boxed(self, label: str, value: str, size: int = 22) -> None:
        self.set_font("DejaVu", "", 9)
        self.cell(0, 5, label, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "B", size)
        self.cell(0, size * 0.5, value, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)


# --- Credentials sheet -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialsSheet:
    """What one station's sheet shows. `pin` and `pairing_code` are in clear: print, hand over
    in a sealed envelope, never store."""

    election_name: str
    station_code: str
    station_name: str
    address: str
    department: str
    day: date
    opens_at: time
    closes_at: time
    pin: str
    pairing_code: str
    pairing_expires: str
    site_url: str
    sms_number: str
    voice_number: str
    staff: tuple[tuple[str, str], ...]  # (role label, name)
    exercise: bool = False


def _credentials_page(pdf: _Document, sheet: CredentialsSheet) -> None:
    pdf.add_page()
    pdf.footer_text = f"{sheet.election_name} — bureau {sheet.station_code} — CONFIDENTIEL : à remettre sous pli au président"
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 5, f"{sheet.election_name}{' — EXERCICE' if sheet.exercise else ''}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.heading(f"Fiche d'identifiants du bureau de vote\n{sheet.station_name}", 16)
    pdf.para(f"{sheet.address or 'Adresse à compléter par la commission'} — département {sheet.department}")
    pdf.para(f"Scrutin du {_day(sheet.day)}, de {_hours(sheet.opens_at, sheet.closes_at)}.", bold=True)
    if sheet.staff:
        pdf.para("Équipe : " + " ; ".join(f"{role} : {name}" for role, name in sheet.staff), 9)
    pdf.ln(2)
    y = pdf.get_y()
    width = (pdf.w - pdf.l_margin - pdf.r_margin - 6) / 3
    for index, (label, value) in enumerate(
        (
            ("Code du bureau (7 chiffres)", codes.display(sheet.station_code)),
            ("Code PIN (6 chiffres, confidentiel)", f"{sheet.pin[:3]} {sheet.pin[3:]}"),
            ("Code d'appairage de la tablette", sheet.pairing_code),
        )
    ):
        pdf.set_xy(pdf.l_margin + index * (width + 3), y)
        pdf.set_font("DejaVu", "", 8)
        pdf.cell(width, 5, label)
        pdf.set_xy(pdf.l_margin + index * (width + 3), y + 5)
        pdf.set_font("DejaVu", "B", 18)
        pdf.cell(width, 13, value, border=1, align="C")
    pdf.set_xy(pdf.l_margin, y + 21)
    pdf.para(f"Le code d'appairage sert une seule fois ; il expire le {sheet.pairing_expires}.", 8)
    pdf.ln(2)

    pdf.heading("1. La tablette", 12)
    pdf.para(
        f"Ouvrez {sheet.site_url}/tablette/appairer dans le navigateur de la tablette, tapez le code d'appairage ci-dessus et un "
        "nom pour la tablette (« Tablette 1 »). La tablette reste ensuite attachée à ce bureau pour la journée. "
        "À l'ouverture, touchez « Ouvrir le bureau ». Pour chaque électeur : cherchez son nom, vérifiez qu'il peut "
        "voter, faites signer la charte, encaissez la participation, touchez « Émarger »."
    )
    pdf.heading("2. Par SMS (si la tablette ne fonctionne pas)", 12)
    pdf.para(
        f"Depuis le téléphone déclaré du président ou d'un assesseur, au {sheet.sms_number} :\n"
        f"• ouverture : OUV {sheet.station_code} {sheet.pin}\n"
        f"• participation à 12h et à 17h : PART {sheet.station_code} {sheet.pin} 12h 153   (153 = nombre de votants)\n"
        "• aide : AIDE\n"
        "Chaque SMS reçoit une réponse. Sans réponse après 5 minutes, renvoyez-le ou appelez votre commission. "
        "Après 5 codes PIN erronés en 15 minutes, le bureau est bloqué 15 minutes."
    )
    pdf.heading("3. Par téléphone (serveur vocal)", 12)
    pdf.para(
        f"Appelez le {sheet.voice_number}, tapez le code du bureau ({sheet.station_code}) puis le code PIN, et suivez les "
        "instructions (résultats du soir : émargements, bulletins blancs et nuls, voix de chaque candidat, montant "
        "collecté). Le serveur relit tout avant que vous ne confirmiez."
    )
    pdf.heading("4. Sur papier (toujours)", 12)
    pdf.para(
        "La liste d'émargement papier et le procès-verbal vierge accompagnent cette fiche. Si la tablette tombe en panne, "
        "faites signer la liste papier ; après la clôture, saisissez ces émargements sur la tablette (écran « Saisie des "
        "émargements papier ») : un électeur déjà émargé sur la tablette est refusé, rien n'est compté deux fois. "
        "Le procès-verbal signé est porté à la commission départementale le soir même."
    )
    pdf.set_font("DejaVu", "B", 9)
    pdf.set_text_color(160, 0, 0)
    pdf.multi_cell(0, 4.5, "Ne communiquez jamais le code PIN par téléphone ni par courriel : personne ne vous le demandera.")
    pdf.set_text_color(0, 0, 0)


def credentials_pdf(sheets: list[CredentialsSheet]) -> bytes:
    """One page per station, in the given order."""
    pdf = _Document("Fiches d'identifiants des bureaux de vote")
    for sheet in sheets:
        _credentials_page(pdf, sheet)
    return bytes(pdf.output())


# --- Émargement list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListVoter:
    name: str  # « MARTIN (usage : DUPONT) Jean Pierre »
    birth_date: str
    bureau: str
    kind: str = ""  # "", « adhérent », « attestation »


def emargement_pdf(
    *,
    election_name: str,
    round_number: int,
    station_code: str,
    station_name: str,
    day: date,
    contribution_min: str,
    charter: str,
    voters: list[ListVoter],
) -> bytes:
    """The station's list, voters sorted by name, one line each with room for the signature
    (of the list and of the charter) and the contribution paid."""
    pdf = _Document(f"Liste d'émargement — bureau {station_code}", orientation="L")
    pdf.footer_text = f"{election_name} — tour {round_number} — bureau {station_code} {station_name} — liste d'émargement"
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.heading(f"Liste d'émargement — tour {round_number} — {_day(day)}", 14)
    pdf.para(f"Bureau {codes.display(station_code)} — {station_name}. {len(voters)} électeurs inscrits.", 10, bold=True)
    pdf.para(
        f"En signant, l'électeur déclare adhérer à la charte : « {charter} » Participation minimale : {contribution_min}. "
        "Un électeur déjà émargé ailleurs ne peut pas voter une seconde fois.",
        8,
    )
    widths = (12, 95, 28, 20, 70, 25, 27)
    headers = ("N°", "Nom et prénoms", "Naissance", "Bureau", "Signature (liste et charte)", "Participation", "Esp. / chèque")

    def header_row() -> None:
        pdf.set_font("DejaVu", "B", 8)
        pdf.set_fill_color(230, 230, 230)
        for width, label in zip(widths, headers, strict=True):
            pdf.cell(width, 7, label, border=1, fill=True, align="C")
        pdf.ln()

    header_row()
    pdf.set_font("DejaVu", "", 8.5)
    for number, voter in enumerate(voters, start=1):
        if pdf.get_y() > pdf.h - 25:
            pdf.add_page()
            header_row()
            pdf.set_font("DejaVu", "", 8.5)
        name = voter.name if not voter.kind else f"{voter.name} ({voter.kind})"
        if pdf.get_string_width(name) > widths[1] - 2:
            while name and pdf.get_string_width(name + "…") > widths[1] - 2:
                name = name[:-1]
            name += "…"
        cells = (str(number), name, voter.birth_date, voter.bureau, "", "", "")
        for width, value in zip(widths, cells, strict=True):
            pdf.cell(width, 9, value, border=1, align="C" if width in (12, 20) else "L")
        pdf.ln()
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 6, "Arrêtée à ________ émargements. Signatures du président et des assesseurs :", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# --- Blank PV -----------------------------------------------------------------------------------


def blank_pv_pdf(
    *, election_name: str, round_number: int, station_code: str, station_name: str, department: str, day: date, candidates: list[str]
) -> bytes:
    """The procès-verbal the station fills in at closing and carries to its commission."""
    pdf = _Document(f"Procès-verbal — bureau {station_code}")
    pdf.footer_text = f"{election_name} — tour {round_number} — bureau {station_code} — procès-verbal"
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(0, 5, election_name, new_x="LMARGIN", new_y="NEXT")
    pdf.heading(f"Procès-verbal des opérations de vote — tour {round_number}", 15)
    pdf.para(f"Bureau {codes.display(station_code)} — {station_name} — département {department} — scrutin du {_day(day)}.", bold=True)
    pdf.ln(2)

    def line(label: str, note: str = "") -> None:
        pdf.set_font("DejaVu", "", 10)
        pdf.cell(120, 9, label, border=1)
        pdf.cell(0, 9, note, border=1, align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.heading("Émargements et bulletins", 12)
    line("Nombre d'émargements (signatures sur la liste et la tablette)")
    line("Nombre de bulletins et enveloppes trouvés dans l'urne")
    line("Bulletins blancs")
    line("Bulletins nuls")
    line("Suffrages exprimés (bulletins – blancs – nuls)")
    pdf.ln(3)
    pdf.heading("Voix obtenues par chaque candidat (dans l'ordre du bulletin)", 12)
    for position, candidate in enumerate(candidates, start=1):
        line(f"{position}. {candidate}")
    pdf.ln(3)
    pdf.heading("Participations financières", 12)
    line("Montant total collecté (espèces et chèques), en euros", "€")
    line("dont espèces", "€")
    line("dont chèques (nombre : ____ )", "€")
    pdf.ln(3)
    pdf.heading("Observations, incidents, réclamations", 12)
    pdf.cell(0, 30, "", border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.para("Fait à ______________________, le ____ / ____ / ________ à ____ h ____.", 10)
    pdf.para("Signatures du président et des assesseurs (nom et signature) :", 10)
    for _ in range(3):
        pdf.cell(0, 12, "", border="B", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
