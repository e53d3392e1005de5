"""Lists sorted as their readers' language sorts them."""

from core.collation import collation_key

NAMES = ["Österrike", "Zimbabwe", "Ägypten", "Åland", "Albanien", "Réunion", "Rumänien", "Uganda"]


def sort(names, language):
    return sorted(names, key=lambda name: collation_key(name, language))


def test_swedish_puts_its_own_three_letters_after_z_in_their_order():
    assert sort(NAMES, "sv") == [
        "Albanien", "Réunion", "Rumänien", "Uganda", "Zimbabwe", "Åland", "Ägypten", "Österrike",
    ]  # fmt: skip
    # æ and ø as ä and ö, ü as y (Swedish dictionaries' order); case never decides.
    assert sort(["Øst", "Ægir", "ärla", "Öland"], "sv") == ["Ægir", "ärla", "Öland", "Øst"]
    assert sort(["Myra", "Müller", "Mylla", "Mua"], "sv-se") == ["Mua", "Mylla", "Müller", "Myra"]


def test_english_reads_a_letter_with_an_accent_as_the_letter():
    assert sort(NAMES, "en") == [
        "Ägypten", "Åland", "Albanien", "Österrike", "Réunion", "Rumänien", "Uganda", "Zimbabwe",
    ]  # fmt: skip
    assert sort(["Myra", "Müller", "Mylla", "Mua"], "en") == ["Mua", "Müller", "Mylla", "Myra"]
    assert sort(["b", "A", "a"], "en") == ["A", "a", "b"]  # ties broken by the text itself
