"""Check-digit algorithms of national identity numbers and payment cards.

Each function takes the digits (and letters) without separators and says whether they form
a valid number. They are pure and small so the tests can try every rule on its own.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def luhn(digits: str) -> bool:
    """The Luhn (mod 10) check of payment cards and Swedish personnummer."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """11 minus the weighted sum mod 11 (11 → 0); None where the rule gives 10 (no such number)."""
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def fodselsnummer(digits: str) -> bool:
    """Norwegian fødselsnummer, D-nummer (day + 40), H-nummer (month + 40) and synthetic test
    numbers (month + 80): a valid birth date, then two mod-11 control digits."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    k1 = _mod11(digits[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    if k1 is None or k1 != int(digits[9]):
        return False
    k2 = _mod11(digits[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    if k2 is None or k2 != int(digits[10]):
        return False
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    individual = int(digits[6:9])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    if individual <= 499:
        century = 1900
    elif individual <= 749 and year >= 54:
        century = 1800
    elif individual >= 500 and year <= 39:
        century = 2000
    elif individual >= 900 and year >= 40:
        century = 1900
    else:
        return False
    return valid_date(century + year, month, day)


def personnummer(digits: str, *, century: str = "") -> bool:
    """Swedish personnummer or samordningsnummer (day + 60): ten digits YYMMDDNNNC with a Luhn
    check digit; ``century`` is the 12-digit form's first two digits."""
    if len(digits) != 10 or not digits.isdigit() or not luhn(digits):
        return False
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if day > 60:
        day -= 60
    if century:
        if century not in ("18", "19", "20"):
            return False
        return valid_date(int(century) * 100 + year, month, day)
    return valid_date(1900 + year, month, day) or valid_date(2000 + year, month, day)


def cpr(digits: str) -> tuple[bool, bool]:
    """Danish CPR number DDMMYY-SSSS: (valid birth date, passes the old mod-11 check).

    Since 2007 numbers are issued that fail mod 11, so a date-valid number is possible even
    without it; the caller decides how sure that is."""
    if len(digits) != 10 or not digits.isdigit():
        return False, False
    day, month, year = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    seventh = int(digits[6])
    if seventh <= 3:
        century = 1900
    elif seventh in (4, 9):
        century = 2000 if year <= 36 else 1900
    else:
        century = 2000 if year <= 57 else 1800
    dated = valid_date(century + year, month, day)
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    mod11 = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0
    return dated, dated and mod11


def steuer_id(digits: str) -> bool:
    """German Steuerliche Identifikationsnummer: 11 digits, no leading zero, one digit of the
    first ten repeated (twice, or three times but not all adjacent), ISO 7064 MOD 11,10."""
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    counts = Counter(digits[:10])
    repeated = [d for d, n in counts.items() if n > 1]
    if len(repeated) != 1 or counts[repeated[0]] not in (2, 3):
        return False
    if counts[repeated[0]] == 3 and repeated[0] * 3 in digits[:10]:
        return False
    product = 10
    for char in digits[:10]:
        total = (int(char) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


def sozialversicherungsnummer(text: str) -> bool:
    """German Rentenversicherungsnummer: area (2 digits), birth date DDMMYY, the initial of the
    birth name, serial (2 digits), check digit: weights 2,1,2,5,7,1,2,1,2,1,2,1 over the digits
    with the letter as its two-digit alphabet position, digit sums of the products, mod 10."""
    text = text.upper()
    if len(text) != 12 or not (text[:8].isdigit() and text[8].isalpha() and text[9:].isdigit()):
        return False
    if not "A" <= text[8] <= "Z":
        return False
    day, month = int(text[2:4]), int(text[4:6])
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return False
    digits = text[:8] + f"{ord(text[8]) - ord('A') + 1:02d}" + text[9:11]
    weights = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(digits, weights, strict=True))
    return total % 10 == int(text[11])


def dni(number: str, letter: str) -> bool:
    """Spanish DNI: eight digits and the letter of their value mod 23."""
    return (
        len(number) == 8
        and number.isdigit()
        and len(letter) == 1
        and DNI_LETTERS[int(number) % 23] == letter.upper()
    )


def nie(prefix: str, number: str, letter: str) -> bool:
    """Spanish NIE: X, Y or Z (for 0, 1, 2), seven digits, and the DNI letter of the whole."""
    if prefix.upper() not in ("X", "Y", "Z") or len(number) != 7 or not number.isdigit():
        return False
    return dni(str("XYZ".index(prefix.upper())) + number, letter)


def nhs(digits: str) -> bool:
    """UK NHS number: ten digits, the last 11 minus the weighted (10..2) sum mod 11."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    check = _mod11(digits[:9], (10, 9, 8, 7, 6, 5, 4, 3, 2))
    return check is not None and check == int(digits[9])


def card_network(digits: str) -> str | None:
    """The payment card network of a Luhn-valid number by its issuer prefix and length."""
    if not luhn(digits):
        return None
    n = len(digits)

    def prefix(k: int) -> int:
        return int(digits[:k])

    if digits[0] == "4" and n in (13, 16, 19):
        return "Visa"
    if (51 <= prefix(2) <= 55 or 2221 <= prefix(4) <= 2720) and n == 16:
        return "Mastercard"
    if prefix(2) in (34, 37) and n == 15:
        return "American Express"
    if (prefix(4) == 6011 or 644 <= prefix(3) <= 649 or prefix(2) == 65) and 16 <= n <= 19:
        return "Discover"
    if 3528 <= prefix(4) <= 3589 and 16 <= n <= 19:
        return "JCB"
    if (300 <= prefix(3) <= 305 or prefix(2) in (36, 38, 39)) and 14 <= n <= 19:
        return "Diners Club"
    if prefix(2) == 62 and 16 <= n <= 19:
        return "UnionPay"
    if (prefix(2) == 50 or 56 <= prefix(2) <= 69) and 12 <= n <= 19:
        return "Maestro"
    return None
