from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=50, unique=True)
    stock = models.IntegerField(default=0)
    added = models.DateTimeField(auto_now_add=True)
