import time, datetime as dt
import pytest
from reports.models import Study
pytestmark = pytest.mark.django_db

def test_bench(client_for, radiologist, protocol, other_protocol):
    from django.db import connection
    base = dt.date(2020, 1, 1)
    Study.objects.bulk_create([Study(protocol=protocol, accession=f"B{i:07d}", modality="CR", study_date=base + dt.timedelta(days=i % 2000)) for i in range(100_000)], batch_size=5000)
    Study.objects.bulk_create([Study(protocol=other_protocol, accession=f"O{i:07d}", study_date=base) for i in range(20_000)], batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as c: c.execute("ANALYZE reports_study")
    c = client_for(radiologist)
    c.get("/studies/")
    for url in ["/studies/", "/studies/?modality=CR", "/studies/?q=B00012", "/studies/?date_from=2021-01-01&date_to=2021-03-01"]:
        t = time.perf_counter(); r = c.get(url); t1 = time.perf_counter() - t
        nxt = r.context["page"].next_after
        t = time.perf_counter(); c.get(f"{url}{'&' if '?' in url else '?'}after={nxt}") if nxt else None; t2 = time.perf_counter() - t
        print(f"\n{connection.vendor} {url}: first {t1*1000:.0f} ms, next {t2*1000:.0f} ms")
