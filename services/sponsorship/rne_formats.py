"""The Répertoire national des élus (RNE) as published on data.gouv.fr: the headers of the
releases we read, copied verbatim.

Source: the git history of the RNE mirror github.com/regardscitoyens/rne-history (snapshot
590c4baa, 2024-08-01) of https://www.data.gouv.fr/fr/datasets/repertoire-national-des-elus-1/
(Licence Ouverte). Only headers are reproduced, no personal row. The layout changed between
releases — tab-separated French headers (December 2022), tab-separated snake_case headers with
the "nuance" columns (June 2023), comma-separated (November 2023), semicolon-separated (2024) —
which is why the importer detects the separator and the encoding and maps headers by name.

The June-2023 mayors header is not in the snapshot (file too large there): it is inferred
from the other June-2023 files (same snake_case names, nuance columns at the end) and marked
so. The 2024 mayors header is the one of the 2024 release (`elus-maires.csv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.sponsorship.rules import Category


class RneKind(StrEnum):
    """The RNE files that matter for sponsorship (one CSV per mandate type)."""

    MAYORS = "maires"
    DEPUTIES = "deputes"
    SENATORS = "senateurs"
    MEPS = "rpe"  # représentants au Parlement européen
    REGIONAL = "cr"
    DEPARTMENTAL = "cd"

    @property
    def label(self) -> str:
        return RNE_KIND_LABELS[self]

    @property
    def category(self) -> Category:
        return RNE_KIND_CATEGORY[self]


RNE_KIND_LABELS = {
    RneKind.MAYORS: "maires",
    RneKind.DEPUTIES: "députés",
    RneKind.SENATORS: "sénateurs",
    RneKind.MEPS: "représentants au Parlement européen",
    RneKind.REGIONAL: "conseillers régionaux",
    RneKind.DEPARTMENTAL: "conseillers départementaux",
}
RNE_KIND_CATEGORY = {
    RneKind.MAYORS: Category.MAYOR,
    RneKind.DEPUTIES: Category.PARLIAMENTARIAN,
    RneKind.SENATORS: Category.PARLIAMENTARIAN,
    RneKind.MEPS: Category.PARLIAMENTARIAN,
    RneKind.REGIONAL: Category.REGIONAL_COUNCILLOR,
    RneKind.DEPARTMENTAL: Category.DEPARTMENTAL_COUNCILLOR,
}


@dataclass(frozen=True)
class ReleaseFormat:
    """How one RNE release writes one kind of file."""

    filename: str
    separator: str
    header: tuple[str, ...]
    date_format: str = "%d/%m/%Y"  # the 2024 files write ISO dates
    encoding: str = "utf-8"
    inferred: bool = False


def _split(header: str, separator: str) -> tuple[str, ...]:
    return tuple(header.split(separator))


# --- December 2022 (rne-*.csv): tab, French headers --------------------------------------------------
_FR_CD = "Code du département\tLibellé du département\tCode du canton\tLibellé du canton\tNom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode de la catégorie socio-professionnelle\tLibellé de la catégorie socio-professionnelle\tDate de début du mandat\tLibellé de la fonction\tDate de début de la fonction"
_FR_CR = "Code de la région\tLibellé de la région\tCode de la section départementale\tLibellé de la section départementale\tNom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode de la catégorie socio-professionnelle\tLibellé de la catégorie socio-professionnelle\tDate de début du mandat\tLibellé de la fonction\tDate de début de la fonction"
_FR_SEN = "Code du département\tLibellé du département\tCode de la collectivité à statut particulier\tLibellé de la collectivité à statut particulier\tNom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode de la catégorie socio-professionnelle\tLibellé de la catégorie socio-professionnelle\tDate de début du mandat"
_FR_DEP = "Code du département\tLibellé du département\tCode de la collectivité à statut particulier\tLibellé de la collectivité à statut particulier\tCode de la circonscription législative\tLibellé de la circonscription législative\tNom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode de la catégorie socio-professionnelle\tLibellé de la catégorie socio-professionnelle\tDate de début du mandat"
_FR_RPE = "Nom de l'élu\tPrénom de l'élu\tCode sexe\tDate de naissance\tCode de la catégorie socio-professionnelle\tLibellé de la catégorie socio-professionnelle\tDate de début du mandat"
# 2024 release (elus-maires.csv), semicolon-separated.
_FR_MAIRES_2024 = "Code du département;Libellé du département;Code de la collectivité à statut particulier;Libellé de la collectivité à statut particulier;Code de la commune;Libellé de la commune;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code de la catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;Date de début du mandat;Date de début de la fonction"

# --- June 2023 (elus-*.csv): tab, snake_case headers, nuance columns ------------------------------------
_SN_CD = "code_departement\tlibelle_departement\tcode_canton\tlibelle_canton\tnom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tlibelle_fonction\tdate_debut_fonction\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"
_SN_CR = "code_region\tlibelle_region\tcode_section_departementale\tlibelle_section_departementale\tnom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tlibelle_fonction\tdate_debut_fonction\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"
_SN_SEN = "code_departement\tlibelle_departement\tcode_collectivite_statut_particulier\tlibelle_collectivite_statut_particulier\tnom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"
_SN_DEP = "code_departement\tlibelle_departement\tcode_collectivite_statut_particulier\tlibelle_collectivite_statut_particulier\tcode_circonscription_legislative\tlibelle_circonscription_legislative\tnom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"
_SN_RPE = "nom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"
_SN_MAIRE_INFERRED = "code_departement\tlibelle_departement\tcode_collectivite_statut_particulier\tlibelle_collectivite_statut_particulier\tcode_commune\tlibelle_commune\tnom_elu\tprenom_elu\tsexe_elu\tdate_naissance_elu\tcode_categorie_socio_professionnelle\tlibelle_categorie_socio_professionnelle\tdate_debut_mandat\tdate_debut_fonction\tlieu_naissance_elu\tcode_nuance_mandat\tlibelle_nuance_mandat"

# --- November 2023 (elus-*.csv): comma, French headers (the apostrophe is straight here) -------------
_FR_CD_2023 = "Code du département,Libellé du département,Code du canton,Libellé du canton,Nom de l'élu,Prénom de l'élu,Code sexe,Date de naissance,Code de la catégorie socio-professionnelle,Libellé de la catégorie socio-professionnelle,Date de début du mandat,Libellé de la fonction,Date de début de la fonction"
_FR_CR_2023 = "Code de la région,Libellé de la région,Code de la section départementale,Libellé de la section départementale,Nom de l'élu,Prénom de l'élu,Code sexe,Date de naissance,Code de la catégorie socio-professionnelle,Libellé de la catégorie socio-professionnelle,Date de début du mandat,Libellé de la fonction,Date de début de la fonction"
_FR_RPE_2023 = "Nom de l'élu,Prénom de l'élu,Code sexe,Date de naissance,Code de la catégorie socio-professionnelle,Libellé de la catégorie socio-professionnelle,Date de début du mandat"

# --- 2024 (elus-*.csv): semicolon, French headers ---------------------------------------------------------
_FR_SEN_2024 = "Code du département;Libellé du département;Code de la collectivité à statut particulier;Libellé de la collectivité à statut particulier;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code de la catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;Date de début du mandat"
_FR_DEP_2024 = "Code du département;Libellé du département;Code de la collectivité à statut particulier;Libellé de la collectivité à statut particulier;Code de la circonscription législative;Libellé de la circonscription législative;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;Code de la catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;Date de début du mandat"


def _fmt(filename: str, header: str, separator: str, **kwargs: object) -> ReleaseFormat:
    return ReleaseFormat(filename=filename, separator=separator, header=_split(header, separator), **kwargs)  # type: ignore[arg-type]


RELEASES: dict[str, dict[RneKind, ReleaseFormat]] = {
    "2022-12": {
        RneKind.DEPARTMENTAL: _fmt("rne-cd.csv", _FR_CD, "\t"),
        RneKind.REGIONAL: _fmt("rne-cr.csv", _FR_CR, "\t"),
        RneKind.SENATORS: _fmt("rne-sen.csv", _FR_SEN, "\t"),
        RneKind.DEPUTIES: _fmt("rne-dep.csv", _FR_DEP, "\t"),
        RneKind.MEPS: _fmt("rne-rpe.csv", _FR_RPE, "\t"),
        RneKind.MAYORS: _fmt("rne-maire.csv", _FR_MAIRES_2024.replace(";", "\t"), "\t"),
    },
    "2023-06": {
        RneKind.DEPARTMENTAL: _fmt("elus-conseiller-departemental.csv", _SN_CD, "\t"),
        RneKind.REGIONAL: _fmt("elus-regional.csv", _SN_CR, "\t"),
        RneKind.SENATORS: _fmt("elus-senateur.csv", _SN_SEN, "\t"),
        RneKind.DEPUTIES: _fmt("elus-depute.csv", _SN_DEP, "\t"),
        RneKind.MEPS: _fmt("elus-representant-parlement-europeen.csv", _SN_RPE, "\t"),
        RneKind.MAYORS: _fmt("elus-maire.csv", _SN_MAIRE_INFERRED, "\t", inferred=True),
    },
    # The November-2023 snapshot holds the CD, CR and RPE files; the other three kinds are
    # written the same way (comma, ISO dates) by analogy.
    "2023-11": {
        RneKind.DEPARTMENTAL: _fmt("elus-conseillers-departementaux-cd.csv", _FR_CD_2023, ",", date_format="%Y-%m-%d"),
        RneKind.REGIONAL: _fmt("elus-conseillers-regionaux-cr.csv", _FR_CR_2023, ",", date_format="%Y-%m-%d"),
        RneKind.MEPS: _fmt("elus-parlementaires-europeens-rpe.csv", _FR_RPE_2023, ",", date_format="%Y-%m-%d"),
        RneKind.SENATORS: _fmt("elus-senateurs-sen.csv", _FR_SEN_2024.replace(";", ","), ",", date_format="%Y-%m-%d"),
        RneKind.DEPUTIES: _fmt("elus-deputes-dep.csv", _FR_DEP_2024.replace(";", ","), ",", date_format="%Y-%m-%d"),
        RneKind.MAYORS: _fmt("elus-maires-mai.csv", _FR_MAIRES_2024.replace(";", ","), ",", date_format="%Y-%m-%d"),
    },
    "2024-07": {
        RneKind.SENATORS: _fmt("elus-senateurs.csv", _FR_SEN_2024, ";", date_format="%Y-%m-%d"),
        RneKind.DEPUTIES: _fmt("elus-deputes.csv", _FR_DEP_2024, ";", date_format="%Y-%m-%d"),
        RneKind.MAYORS: _fmt("elus-maires.csv", _FR_MAIRES_2024, ";", date_format="%Y-%m-%d"),
        RneKind.DEPARTMENTAL: _fmt("elus-conseillers-departementaux.csv", _FR_CD_2023.replace(",", ";"), ";", date_format="%Y-%m-%d"),
        RneKind.REGIONAL: _fmt("elus-conseillers-regionaux.csv", _FR_CR_2023.replace(",", ";"), ";", date_format="%Y-%m-%d"),
        RneKind.MEPS: _fmt("elus-parlementaires-europeens.csv", _FR_RPE_2023.replace(",", ";"), ";", date_format="%Y-%m-%d"),
    },
}
# An older-style export (Windows-1252, semicolons) as regional offices still produce: tests the
# encoding detection. Same French headers as 2024.
RELEASES["cp1252"] = {
    kind: ReleaseFormat(
        filename=fmt.filename, separator=";", header=fmt.header, date_format="%d/%m/%Y", encoding="cp1252"
    )
    for kind, fmt in RELEASES["2024-07"].items()
}
DEFAULT_RELEASE = "2024-07"
