from django.contrib.gis.db import models


class Note(models.Model):
    """A plain model: proves ordinary tables migrate."""

    text = models.TextField()
    created = models.DateTimeField(auto_now_add=True)


class Place(models.Model):
    """A GeoDjango model: proves PostGIS is there and Django can use it."""

    name = models.CharField(max_length=100, unique=True)
    location = models.PointField(srid=4326)
