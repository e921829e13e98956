"""Writes a customer table for the EDM tests with Faker, a generator independent of cordon.

Usage: edm_table.py ROWS [SEED] > table.csv

Six columns, the schema of tests/tests/edm_faker.rs (and docs/dlp.md's example): card (a
Luhn-valid 16-digit card), email, first_name, last_name, dob (ISO date), postcode. The same
rows and seed give the same file: Faker's instance generator is seeded and no provider used
here draws from the module-level one. Runs in the pinned Faker venv that scripts/lib.sh's
faker_venv sets up (FAKER_PINS).
"""
import csv
import sys

from faker import Faker


def main():
    rows = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    fake = Faker("en_US")
    fake.seed_instance(seed)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["card", "email", "first_name", "last_name", "dob", "postcode"])
    for _ in range(rows):
        out.writerow([
            fake.credit_card_number(card_type="visa16"),
            fake.email(),
            fake.first_name(),
            fake.last_name(),
            fake.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
            fake.postcode(),
        ])


if __name__ == "__main__":
    main()
