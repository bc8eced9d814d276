"""Name pools of the synthetic extracts: frequent French family and given names, in rough order
of frequency, with the families of names real lists contain (particles, apostrophes, hyphens,
Breton, Corsican, Antillean, Maghrebi, West-African, Vietnamese, Iberian and Italian names).

Everything here is public knowledge of name frequencies; any combination the generator makes
is fictional. Weights follow the rank (Zipf-like), so « Martin » is far more frequent than
« Laporte », as in real lists.
"""

from __future__ import annotations

FRENCH = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre
Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefèvre
Faure André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément
Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour
Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard
Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe
Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert
Berger Carpentier Sanchez Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet
Adam Paris Poirier Marty Aubry Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly
Hervé Schneider Fernandez Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Cousin Germain Breton
Besson Langlois Rémy Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob
Monnier Michaud Rodriguez Guichard Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin Bouchet
Gay Lemaître Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert
Lamy Delaunay Pasquier Carlier Laporte Lemercier Bigot Devaux Tanguy Texier Guillou Laine Bousquet Ollivier""".split()

# Leading particles, apostrophes and compound names: the spellings a search must survive.
PARTICLES = [
    "de La Fontaine", "de Villiers", "du Pont", "de Gaulle", "d'Arc", "de Saint-Exupéry", "Le Gall", "Le Goff",
    "Le Roux", "Le Floch", "Le Bihan", "Le Guen", "Le Pen", "Le Corre", "La Rochefoucauld", "de Montmorency",
    "Des Roches", "de l'Espinay", "L'Hermite", "L'Huillier", "D'Angelo", "Van der Berg", "Van Damme",
    "von Fürstenberg", "Da Costa", "Dos Santos", "De Sousa", "Della Valle", "Du Bellay", "de Broglie",
    "Giscard d'Estaing", "d'Estienne d'Orves", "de La Tour d'Auvergne", "Le Meur", "Le Berre", "La Salle",
    "Delacroix", "Delafontaine", "Lafontaine", "Dupont-Aignan",
]  # fmt: skip
APOSTROPHES = ["N'Diaye", "M'Bappé", "O'Neill", "N'Guessan", "D'Almeida", "L'Hôte", "N'Dour", "M'Barek", "O'Connor"]
MAGHREB = """Benali Haddad Belkacem Bouzid Mansouri Cherif Amrani Benaïssa Saïdi Brahimi Hamidi Boukhari Meziane
Kaci Rahmani Ziani Belaïd Chaouch Hadjadj Bensalem""".split() + ["El Amrani", "Ben Youssef", "Aït Ahmed", "Aït-Kaci"]
WEST_AFRICA = "Diallo Traoré Diop Ndiaye Camara Sow Touré Keïta Koné Coulibaly Cissé Sy Ba Fofana Sylla Kanté Dembélé".split()
ASIA = ["Nguyen", "Tran", "Lê", "Pham", "Huynh", "Vo", "Dang", "Zhang", "Wang", "Chen", "Lin", "Truong", "Ly"]
IBERIAN_ITALIAN = """Da Silva|Pereira|Ferreira|Rodrigues|Fernandes|Gonçalves|Lopes|Martins|Sousa|Garcia|Martinez|Lopez
|Sanchez|Perez|Gonzalez|Fernandez|Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Ricci|Marino|Oliveira|Carvalho""".replace(
    "\n", ""
).split("|")
CORSICA = """Santoni Casanova Luciani Leca Colonna Peretti Paoli Orsini Bartoli Filippi Mattei Pietri Albertini
Giacomoni Cesari Poli Cristofari Antonetti Marchetti Susini Ottavi Acquaviva Franceschi Mondoloni""".split() + [
    "Rocca Serra",
    "Colonna d'Istria",
    "Pozzo di Borgo",
]
ANTILLES = """Jean-Baptiste|Saint-Louis|Alexis|Lubin|Calixte|Cornélie|Jean-Louis|Gustave|Ramassamy|Bellance|Bambuck
|Désir|Pierre-Louis|Marie-Sainte|Mathurin|Moutoussamy|Zénon|Théodore|Mérion|Lancrerot|Dorville|Rugard|Ismaël
|Clarisse|Jean-Charles|Nicolas|Romain|Borel|Sainte-Rose|Vingadassalom|Gène|Bazile""".replace("\n", "").split("|")
BRITTANY = ["Le Gall", "Le Goff", "Le Roux", "Le Floch", "Le Bihan", "Le Guen", "Tanguy", "Guillou", "Le Meur", "Le Berre", "Kerbrat", "Quéré"]

FEMALE_OLD = """Marie Jeanne Françoise Monique Catherine Nicole Jacqueline Anne Sylvie Martine Christiane Danielle
Michèle Brigitte Madeleine Simone Denise Colette Josette Ginette Odette Yvette Paulette Renée Hélène Geneviève""".split()
MALE_OLD = """Jean Pierre Michel André Philippe Alain Jacques Bernard Daniel Claude Gérard René Louis Roger Henri
Marcel Georges Paul Robert Raymond Guy Yves Joseph Maurice Francis Lucien""".split()
FEMALE_MID = """Nathalie Isabelle Sandrine Stéphanie Valérie Céline Aurélie Émilie Julie Laetitia Virginie Sophie
Caroline Christelle Karine Véronique Delphine Audrey Élodie Mélanie Patricia Corinne Séverine Agnès Cécile""".split()
MALE_MID = """Nicolas Christophe Stéphane Sébastien Frédéric Laurent Julien David Thierry Olivier Jérôme Guillaume
Cédric Mickaël Pascal Éric Vincent Franck Patrick Arnaud Fabrice Benoît Grégory Jérémy Ludovic""".split()
FEMALE_YOUNG = """Léa Manon Chloé Camille Emma Inès Sarah Océane Clara Anaïs Zoé Maëlys Lou Jade Louise Noémie Juliette
Lucie Mathilde Pauline Marine Justine Margaux Héloïse Alicia Maëva""".split()
MALE_YOUNG = """Lucas Hugo Thomas Théo Enzo Nathan Mathis Maxime Alexandre Quentin Kévin Louis Gabriel Noah Raphaël
Yanis Loïc Maël Gaël Antoine Clément Romain Baptiste Valentin Florian Adrien""".split()
FEMALE_COMPOUND = ["Marie-Claire", "Marie-Thérèse", "Anne-Sophie", "Marie-Hélène", "Marie-Laure", "Anne-Marie", "Marie-Christine", "Marie-Noëlle"]
MALE_COMPOUND = ["Jean-Pierre", "Jean-Claude", "Jean-Michel", "Jean-François", "Pierre-Yves", "Jean-Baptiste", "Jean-Luc", "Jean-Marc"]
FEMALE_MAGHREB_AFRICA = ["Nadia", "Fatima", "Samira", "Leïla", "Yasmina", "Amina", "Aïssatou", "Fatoumata", "Malika", "Karima", "Nour"]
MALE_MAGHREB_AFRICA = ["Mohamed", "Karim", "Rachid", "Yacine", "Sofiane", "Mehdi", "Moussa", "Mamadou", "Ibrahima", "Samir", "Bilal"]
FEMALE_CORSICA = ["Marie-Ange", "Marie-Dominique", "Laetitia", "Santa", "Paule", "Dominique", "Angèle", "Marie-Josée"]
MALE_CORSICA = ["Jean-Toussaint", "Ange", "Dominique", "Paul-Antoine", "Antoine", "Pascal", "Toussaint", "Ange-Mathieu", "Orsu"]
FEMALE_ANTILLES = ["Marie-Line", "Jocelyne", "Ketty", "Murielle", "Rose-Aimée", "Marie-Josée", "Nadège", "Maryse", "Félicité"]
MALE_ANTILLES = ["Jean-Claude", "Max", "Fred", "Harry", "Rudy", "Teddy", "Jimmy", "Lucien", "Marius", "Jean-Marie"]
FEMALE_EU = ["Ana", "Maria", "Giulia", "Sofia", "Carmen", "Ioana", "Katarzyna", "Anna", "Inês", "Beatriz"]
MALE_EU = ["João", "José", "Giuseppe", "Marco", "Carlos", "Andrei", "Piotr", "Hans", "Luca", "Miguel"]
# Second, third and fourth given names: the saints' names of civil-registry tradition.
FEMALE_SECOND = ["Marie", "Louise", "Anne", "Jeanne", "Thérèse", "Hélène", "Claire", "Madeleine", "Françoise", "Joséphine", "Rose", "Élisabeth"]
MALE_SECOND = ["Jean", "Pierre", "Joseph", "Louis", "Paul", "Marie", "André", "Michel", "François", "Jacques", "Antoine", "Henri"]

# Countries of birth abroad: (label, INSEE country code, a city) and nationalities of EU voters.
COUNTRIES = {
    "maghreb": [("ALGERIE", "99352", "Alger"), ("MAROC", "99350", "Casablanca"), ("TUNISIE", "99351", "Tunis"), ("ALGERIE", "99352", "Oran")],
    "west_africa": [("SENEGAL", "99341", "Dakar"), ("MALI", "99335", "Bamako"), ("COTE D'IVOIRE", "99326", "Abidjan")],
    "asia": [("VIET NAM", "99243", "Hô Chi Minh-Ville"), ("CHINE", "99216", "Wenzhou"), ("CAMBODGE", "99234", "Phnom Penh")],
    "iberian_italian": [("PORTUGAL", "99139", "Porto"), ("ESPAGNE", "99134", "Madrid"), ("ITALIE", "99127", "Naples")],
}
EU_NATIONALS = [
    ("Portugaise", "PORTUGAL", "99139", "Lisbonne", "iberian_italian"),
    ("Italienne", "ITALIE", "99127", "Turin", "iberian_italian"),
    ("Espagnole", "ESPAGNE", "99134", "Séville", "iberian_italian"),
    ("Belge", "BELGIQUE", "99131", "Liège", "french"),
    ("Allemande", "ALLEMAGNE", "99109", "Cologne", "eu_other"),
    ("Roumaine", "ROUMANIE", "99114", "Bucarest", "eu_other"),
    ("Polonaise", "POLOGNE", "99122", "Cracovie", "eu_other"),
]
EU_OTHER_SURNAMES = ["Schmidt", "Müller", "Popescu", "Ionescu", "Kowalski", "Nowak", "Wiśniewski", "Fischer", "Dumitrescu"]

STREETS = [
    "rue Victor Hugo", "avenue Jean Jaurès", "place de la République", "chemin des Vignes", "impasse du Moulin",
    "allée des Tilleuls", "boulevard Gambetta", "rue de la Paix", "rue Pasteur", "rue du Général de Gaulle",
    "avenue de la Libération", "rue des Écoles", "rue de l'Église", "chemin de la Fontaine", "rue Jules Ferry",
    "rue Émile Zola", "avenue Foch", "rue du 8 Mai 1945", "quai des Chartrons", "cours de l'Intendance",
    "rue d'Alsace-Lorraine", "lotissement Les Hauts de Massabielle", "rue Saint-Jean", "route nationale 1",
]  # fmt: skip
COMPLEMENTS = ["Bât. B", "Appt 12", "Résidence Les Pins", "Escalier C", "3e étage", "Résidence du Parc", "Bâtiment A porte 4"]
LIEUX_DITS = ["Le Bourg", "La Croix Blanche", "Les Granges", "Le Moulin Neuf", "Hameau de la Source", "Section Dothémare"]
BUREAU_PLACES = [
    "Mairie", "École élémentaire Jules Ferry", "Salle des fêtes", "Groupe scolaire Jean Moulin", "Gymnase Pierre de Coubertin",
    "Maison des associations", "Salle polyvalente", "École maternelle Louise Michel", "Centre culturel", "Foyer rural",
    "École Condorcet", "Collège Jean Zay", "Salle Simone Veil",
]  # fmt: skip

# The long tail: most French people do not bear one of the 200 most frequent names (there are
# about 1.3 million family names; « Martin », the most frequent, is borne by ≈ 0.35 % of the
# population). Synthetic names built from the sounds of French family names give the lists a
# realistic spread, so that a prefix search is as selective as it is on real lists.
TAIL_STARTS = """Ber Bou Bra Cha Cla Cou Dal Dan Des Dor Dub Duc Fab Fer Fou Gal Gar Gil Gou Gra Gui Hal Jac Jol Lab
Lac Lam Lan Lar Lav Leb Lec Lem Mal Man Mar Mas Mer Mon Mor Nav Pel Per Pic Pin Pou Ram Ren Rib Roc Rou Sau Ser Tes
Thi Tou Val Ver Vil Bel Bon Cas Cor Fla Fro Gra Hur Lor Mil Mou Nor Pon Pra Sal Tar Tri""".split()
TAIL_MIDDLES = ["", "", "", "a", "e", "i", "o", "ou", "el", "er", "an", "on", "in", "au"]
TAIL_ENDS = """and ard art at aud ault eau el elle enne er et ette ey ier ière in ine on ot otte oux y ac as ès ez is ois
onnet ichon ereau ignac iot uc ais ange ade""".split()
