"""NVLink domains that span servers (GB200 NVL72: trays of 4 GPUs, one domain of 72): TP across trays
within the domain, needing no network, and a clear refusal where the TP does not divide the heads."""

from __future__ import annotations

import pytest

from solver.plan.candidates import layouts_for
from solver.predict.estimate import estimate_named
from solver.predict.fabric import fabric_of, links_of, tp_link


def test_tp_across_trays_of_the_domain_is_answered(catalog):
    for tp in (8, 16, 32, 64):
        e = estimate_named("deepseek-r1", "gb200", tp=tp, precision="fp4", engine="tensorrt-llm", concurrency=64,
                           catalog=catalog)
        assert e.fits and e.perf is not None, (tp, e.reason)
        assert e.servers == tp // 4 and e.interconnect == "nvswitch"


def test_tp_that_does_not_divide_the_heads_says_why(catalog):
    e = estimate_named("deepseek-r1", "gb200", tp=36, precision="fp4", engine="tensorrt-llm", catalog=catalog)
    assert not e.fits and e.perf is None
    assert e.reason == "TP 36 does not divide the 128 attention heads of deepseek-r1"


def test_a_domain_spanning_servers_carries_tp_over_nvlink_not_the_network(catalog):
    tray = catalog.server("gb200-nvl72-tray")
    f = fabric_of(tray, catalog.gpu("gb200"))
    assert tp_link(f, 64)[2] == "nvswitch" and tp_link(f, 72)[2] == "nvswitch"
    assert tp_link(f, 144)[2] == "network"
    # pipeline stages on other trays of the domain talk over NVLink too
    assert links_of(f, 4, 4).p2p_gbs == tray.interconnect.per_gpu_gbs
    hgx = catalog.server("dgx-b200")
    assert links_of(fabric_of(hgx, catalog.gpu("b200")), 8, 2).p2p_gbs == hgx.network.gbps_per_gpu / 8


def test_layouts_cover_the_domain_where_heads_divide(catalog):
    tray, engine = catalog.server("gb200-nvl72-tray"), catalog.engine("tensorrt-llm")
    layouts = layouts_for(tray, engine, catalog.model("deepseek-r1"))  # 128 heads
    spanning_tp = sorted(tp for tp, pp, s in layouts if s > 1 and pp == 1)
    assert spanning_tp == [8, 16, 32, 64]
    assert (4, 16, 16) in layouts  # PP over 16 trays of the domain
    # an 8-GPU server whose NVLink stops at the server: TP never spans it
    hgx = catalog.server("dgx-b200")
    assert all(pp > 1 for tp, pp, s in layouts_for(hgx, engine, catalog.model("deepseek-r1")) if s > 1)


@pytest.mark.parametrize("server", ["coreweave-gb200-4", "gb200-nvl72-tray"])
def test_a_replica_inside_the_domain_needs_no_network(catalog, server):
    """Without a documented network, a replica within the domain still runs; beyond it, it is refused."""
    cat = catalog
    srv = cat.server(server).model_copy(update={"network": None})
    from solver.predict.estimate import estimate
    from solver.schema.precision import Precision

    args = (cat, cat.model("deepseek-r1"), cat.gpu("gb200"), cat.engine("tensorrt-llm"), Precision.fp4, Precision.fp8)
    inside = estimate(*args, 64, 1, 1024, 256, 8, server=srv)
    assert inside.fits, inside.reason
    beyond = estimate(*args, 64, 2, 1024, 256, 8, server=srv)
    assert not beyond.fits and "network is not documented" in beyond.reason


@pytest.mark.parametrize("server, platform", [("amd-mi300x-8", "amd-mi300x-platform"), ("hgx-h100-4gpu", "hgx-h100-4gpu"),
                                               ("hgx-a100-4gpu-80gb", "hgx-a100-4gpu"), ("gaudi3-8card", "gaudi3-8card-server"),
                                               ("gaudi2-8card", "gaudi2-8card-server")])
def test_a_mesh_gives_a_group_only_the_links_among_its_gpus(catalog, server, platform):
    """A switchless full mesh splits each GPU's links over its peers: two GPUs all-reduce over one pair's
    links (the reference's pairwise bandwidth), the whole domain over all of them; a switch gives any
    group the full rate."""
    import yaml

    from tests.conftest import REFERENCE

    ref = yaml.safe_load((REFERENCE / "hardware.yaml").read_text())
    plat = next(p for p in ref["platforms"] if p["id"] == platform)
    s = catalog.server(server)
    f = fabric_of(s, catalog.gpu(s.gpu))
    share = f.allreduce_share  # what the GPU's all-reduces attain of the links' rate
    assert tp_link(f, 2)[0] == pytest.approx(plat["scale_up"]["pairwise_bw_gbs_bidir"] / 2 * share)
    assert tp_link(f, s.interconnect.fast_domain_gpus)[0] == pytest.approx(s.interconnect.per_gpu_gbs * share)
    assert links_of(f, 1, 2).p2p_gbs == pytest.approx(plat["scale_up"]["pairwise_bw_gbs_bidir"] / 2)
    switch = catalog.server("dgx-h100")
    sf = fabric_of(switch, catalog.gpu("h100-sxm"))
    assert tp_link(sf, 2)[0] == tp_link(sf, 8)[0] == pytest.approx(switch.interconnect.per_gpu_gbs * sf.allreduce_share)


def test_all_reduce_runs_at_the_gpus_measured_bus_bandwidth(catalog, reference):
    """Each GPU's all-reduce share is its ring rows' (NVLS rows, reduced in the switch, left out); two
    MI300X of an 8-GPU mesh then all-reduce within 10% of the 47.7 GB/s measured on them."""
    import yaml

    rows = yaml.safe_load((reference / "achievable.yaml").read_text())
    ring = {"h200-sxm-141gb": (0.807, 0.812), "b200-sxm-180gb": (0.748,), "a100-sxm4-80gb": (0.772,),
            "mi300x-192gb": (0.698, 0.707, 0.745)}
    for gpu, shares in ring.items():
        got = [r["fraction_of_peak"] for r in rows if r.get("catalog_id") == gpu and r["metric"] == "allreduce_busbw"]
        assert set(shares) <= set(got)
        assert catalog.gpus[gpu].attainable.allreduce in shares
    two = next(r for r in rows if r.get("catalog_id") == "mi300x-192gb" and r["metric"] == "allreduce_busbw" and r["n_gpus"] == 2)
    s = catalog.server("amd-mi300x-8")
    assert tp_link(fabric_of(s, catalog.gpu("mi300x")), 2)[0] == pytest.approx(two["value"], rel=0.1)


def test_the_planner_offers_tp_across_trays_of_the_domain(catalog):
    """DeepSeek-R1 on GB200 at 70 tokens/s per user: the answer runs TP 16 over 4 trays of the NVLink
    domain, said so, and costs what 8 slices cost."""
    from solver.plan.planner import solve
    from solver.schema.scenario import Scenario

    sc = Scenario(model="deepseek-r1", precision="fp4", users=256, allowed_gpus=["gb200"], currency="USD",
                  allow_multi_server=True, input_tokens=1024, output_tokens=1024, context_tokens=4096,
                  objectives=["cost"], min_tokens_per_s_per_user=70)
    plan = solve(sc, catalog)
    rec = plan.recommendation
    assert plan.status == "ok" and rec is not None
    text = " ".join(str(v) for v in rec.values()) if isinstance(rec, dict) else str(rec)
    assert "TP16" in text and "72-GPU nvswitch domain" in text


def test_the_server_listing_shows_a_domain_beyond_the_server(catalog):
    from solver.cli.catalog_cmd import server_row

    assert server_row(catalog.server("gb200-nvl72-tray"))["interconnect"] == "nvswitch (72-GPU domain)"
    assert server_row(catalog.server("dgx-h100"))["interconnect"] == "nvswitch"
