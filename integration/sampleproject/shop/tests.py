"""Tests that lean on the database the way real projects do, run in parallel."""

import threading
from datetime import timedelta

from django.db import IntegrityError, connection, connections, transaction
from django.test import TestCase, TransactionTestCase, override_settings

from .models import Product


def make_test_case(index: int) -> type:
    """Return a TestCase class, so that both parallel workers get a share."""

    class ProductTests(TestCase):
        databases = {"default", "other"}

        def test_create_and_read(self) -> None:
            Product.objects.create(name=f"pen-{index}", stock=3)
            self.assertEqual(Product.objects.get(name=f"pen-{index}").stock, 3)

        def test_unique_violation_rolls_back_to_savepoint(self) -> None:
            Product.objects.create(name="dup")
            with self.assertRaises(IntegrityError), transaction.atomic():
                Product.objects.create(name="dup")
            self.assertEqual(Product.objects.count(), 1)

        def test_other_database(self) -> None:
            Product.objects.using("other").create(name="elsewhere")
            self.assertEqual(Product.objects.using("other").count(), 1)
            self.assertEqual(Product.objects.count(), 0)

        def test_connected_to_the_worker_database(self) -> None:
            name = connection.settings_dict["NAME"]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT DATABASE()"
                    if connection.vendor == "mysql"
                    else "SELECT current_database()"
                )
                self.assertEqual(cursor.fetchone()[0], name)

        @override_settings(TIME_ZONE="Asia/Tokyo")
        def test_time_zone_override(self) -> None:
            product = Product.objects.create(name=f"tz-{index}")
            self.assertLess(abs(product.added - Product.objects.get().added), timedelta(seconds=1))

    ProductTests.__name__ = ProductTests.__qualname__ = f"ProductTests{index}"
    return ProductTests


ProductTests1 = make_test_case(1)
ProductTests2 = make_test_case(2)
ProductTests3 = make_test_case(3)


class ThreadedTests(TransactionTestCase):
    def test_threads_each_borrow_and_return(self) -> None:
        errors = []

        def worker(number: int) -> None:
            try:
                for step in range(5):
                    Product.objects.create(name=f"t{number}-{step}")
            except Exception as error:  # surfaced below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(Product.objects.count(), 40)
