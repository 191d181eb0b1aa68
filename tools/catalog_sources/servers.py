"""Server SKUs: the platforms of reference/hardware.yaml (HGX/DGX, NVL72, OAM, PCIe servers) and the
OVHcloud flavours of reference/seed_and_ovhcloud.yaml, with interconnect, network, power and price."""

from __future__ import annotations

from pathlib import Path

import yaml

# ---------------------------------------------------------------------------------------------- servers
PCIE_GBS = {3: 16.0, 4: 32.0, 5: 64.0, 6: 128.0}  # x16 per direction, reference pcie-server-generic
LAT = {"pcie": 10.0, "nvlink_bridge": 4.0, "nvswitch": 4.0, "nvlink_mesh": 4.0, "infinity_fabric": 6.0, "roce_mesh": 8.0, "none": 0.0}
NET_LAT = {"infiniband": 5.0, "roce": 8.0, "ethernet": 15.0}
PLATFORM_SRC = "shared/reference/hardware.yaml (platforms)"
PCIE_SRC = "shared/reference/hardware.yaml (platforms: pcie-server-generic)"
PRICE_SRC = "shared/reference/hardware.yaml (prices)"
OVH_SRC = "shared/reference/seed_and_ovhcloud.yaml"


def ic(kind: str, per_gpu_gbs: float, domain: int) -> dict:
    return {"kind": kind, "per_gpu_gbs": per_gpu_gbs, "fast_domain_gpus": domain, "latency_us": LAT[kind]}


def net(kind: str, gbps: float) -> dict:
    return {"kind": kind, "gbps_per_gpu": gbps, "latency_us": NET_LAT[kind]}


# GB200 NVL72: 18 compute trays of 4 GPUs, the rack one NVLink domain of 72 GPUs at 1,800 GB/s per GPU
# both directions (reference/hardware.yaml platforms gb200-nvl72: scale_up domain_size 72); a tray is
# a server whose fast domain spans the rack.  Scale-out 1x ConnectX-7 400G per GPU (the reference's,
# flagged unverified there; aiconfigurator's gb200 system file states 800 Gb/s between racks).
NVL72 = ic("nvswitch", 900.0, 72)
NVL72_NET = net("infiniband", 400)
NVL72_SRC = ["shared/reference/hardware.yaml (platforms: gb200-nvl72)",
             "aiconfigurator-core 0.12.0 (PyPI, Apache-2.0) systems/gb200.yaml: num_gpus_per_node 4, num_gpus_per_rack 72, "
             "inter_node_bw 900 GB/s per GPU per direction (NVLink via NVSwitch within the rack)"]
NVL72_TRAY_NOTE = ("A replica of up to 72 GPUs (18 trays) stays in the rack's NVLink domain; beyond it, the network. "
                   "No source gives a price for a tray or a rack.")
NVL72_SLICE_NOTE = ("CoreWeave rents GB200 NVL72 racks in slices of 4 GPUs (one compute tray); that slices rented together "
                    "share one rack's NVLink domain is assumed (unverified), as is the per-GPU scale-out network.")


def pcie_interconnect(g: dict, n: int) -> dict:
    if n == 1:
        return ic("none", 0.0, 1)
    link = g["scale_up_link"]
    bw = PCIE_GBS[g["pcie_gen"] or 4]
    if link["type"] in ("NVLink bridge", "Infinity Fabric Link (bridge)") and link["bandwidth_gbs_bidir"]:
        dom = min(n, link["max_gpus"] or 2)
        kind = "nvlink_bridge" if "NVLink" in link["type"] else "infinity_fabric"
        # bridged groups; TP beyond a group falls back to PCIe (handled by the performance model)
        return ic(kind, link["bandwidth_gbs_bidir"] / 2, dom)
    return ic("pcie", bw, n)


def build_servers(gpus: list[dict], ref_dir: Path) -> list[dict]:
    G = {g["id"]: g for g in gpus}
    servers: list[dict] = []

    def add(sid, name, provider, gpu, n, inter, network=None, price=None, source=(), unverified=(), notes=None, power_kw=None):
        s = {
            "id": sid,
            "name": name,
            "provider": provider,
            "gpu": gpu,
            "gpu_count": n,
            "interconnect": dict(inter),  # copies: a shared dict would be written as a YAML alias
            "network": dict(network) if network else None,
            "price": price,
            "purchase": None,
            "power_kw": power_kw,
            "stock": None,
            "source": list(source),
            "unverified": sorted(set(unverified)),
        }
        if notes:
            s["notes"] = notes
        servers.append(s)

    def price(amount, cur, observed, src):
        return {"amount_per_hour": round(float(amount), 4), "currency": cur, "observed": observed, "source": src}

    # -- OVHcloud Public Cloud, EUR (the default price list) -----------------------------------------
    ovh_gpu = {"L4": "l4-24gb", "L40S": "l40s-48gb", "A10": "a10-24gb", "A100": "a100-sxm4-80gb", "H100": "h100-sxm-80gb", "H200": "h200-sxm-141gb"}
    ovh_note = "OVHcloud does not document the GPU interconnect of multi-GPU instances; PCIe assumed (conservative)."
    ref = yaml.safe_load((ref_dir / "seed_and_ovhcloud.yaml").read_text())
    eur = ref["ovh_public_cloud_gpu_eur"]
    for flavour, f in eur.items():
        if not isinstance(f, dict) or "gpu" not in f:
            continue
        gid = ovh_gpu[f["gpu"]]
        n = f["gpus"]
        unv = ["gpu"] if f["gpu"] in ("A100", "H100") else []
        if n == 8 and f["gpu"] == "H200":
            inter, note = ic("nvswitch", G[gid]["scale_up_link"]["bandwidth_gbs_bidir"] / 2, 8), "8x H200 SXM instance; H200 SXM ships on HGX 8-GPU NVSwitch boards (platform hgx-h100-8gpu)."
            unv.append("interconnect")
        elif n > 1:
            inter, note = ic("pcie", PCIE_GBS[4], n), ovh_note
            unv.append("interconnect")
        else:
            inter, note = ic("none", 0.0, 1), None
        if f["gpu"] in ("A100", "H100"):
            note = ((note + " ") if note else "") + "GPU model (SXM) as filed by the reference price list."
        add(
            f"ovh-{flavour}",
            f"OVHcloud {flavour} ({n}x {f['gpu']}, {f['vcpu'] or '?'} vCPU, {f['ram_gb']} GB RAM)",
            "ovhcloud",
            gid,
            n,
            inter,
            None,
            price(f["eur_per_hour"], "EUR", "2025-01-27 catalog" if flavour != "h200-1920" else "2026", OVH_SRC + " (ovh_public_cloud_gpu_eur)"),
            [OVH_SRC],
            unv,
            note,
        )
    # flavours with no EUR price in the sources: listed so that an overlay can price them
    for fam, gid, sizes in (("t1", "v100-sxm2-16gb", (1, 2, 4)), ("t2", "v100s-pcie-32gb", (1, 2, 4))):
        for n in sizes:
            flavour = f"{fam}-{45 * n}"
            add(
                f"ovh-{flavour}",
                f"OVHcloud {flavour} ({n}x {'V100 16GB' if fam == 't1' else 'V100S 32GB'})",
                "ovhcloud",
                gid,
                n,
                ic("pcie", PCIE_GBS[3], n) if n > 1 else ic("none", 0.0, 1),
                None,
                None,
                [OVH_SRC + " (other_flavor_families_no_price)"],
                ["interconnect"] if n > 1 else [],
                "No EUR price in the sources: cost is unknown until an overlay gives one.",
            )
    add("ovh-a10-180", "OVHcloud a10-180 (4x A10)", "ovhcloud", "a10-24gb", 4, ic("pcie", PCIE_GBS[4], 4), None, None,
        [OVH_SRC + " (other_flavor_families_no_price)"], ["interconnect"], "No price in the sources.")

    # -- OVHcloud USD list ----------------------------------------------------------------------------
    usd = ref["ovh_public_cloud_gpu_usd"]
    for flavour, p in usd.items():
        if flavour.startswith("ai-training"):
            continue
        base = next((s for s in servers if s["id"] == f"ovh-{flavour}"), None)
        if base is None:
            continue
        s = dict(base)
        s["id"] = f"ovh-us-{flavour}"
        s["name"] = base["name"].replace("OVHcloud", "OVHcloud (USD list)")
        s["price"] = price(p["usd_per_hour"], "USD", p["source"], OVH_SRC + " (ovh_public_cloud_gpu_usd)")
        s["notes"] = (base.get("notes") or "").replace("No EUR price in the sources: cost is unknown until an overlay gives one.", "").strip() or None
        if s["notes"] is None:
            s.pop("notes")
        servers.append(s)
    add("ovh-us-t1-45", "OVHcloud (USD list) t1-45 (1x V100 16GB)", "ovhcloud", "v100-sxm2-16gb", 1, ic("none", 0.0, 1), None,
        price(1.97, "USD", "undated SkyPilot catalog snapshot", "https://github.com/skypilot-org/skypilot-catalog/blob/master/catalogs/v6/ovhcloud/vms.csv"),
        [PRICE_SRC])

    # -- other clouds, USD (reference/hardware.yaml prices) --------------------------------------------
    nvs = lambda g: ic("nvswitch", G[g]["scale_up_link"]["bandwidth_gbs_bidir"] / 2, 8)  # noqa: E731
    clouds = [
        # id, name, provider, gpu, n, interconnect, network, usd/h, observed, source, unverified
        ("aws-p5.48xlarge", "AWS p5.48xlarge (8x H100 SXM)", "aws", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), net("ethernet", 400), 55.04, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p5en.48xlarge", "AWS p5en.48xlarge (8x H200 SXM)", "aws", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), net("ethernet", 400), 63.296, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p6-b200.48xlarge", "AWS p6-b200.48xlarge (8x B200)", "aws", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("ethernet", 400), 113.93, "2026-09-25 feed", "https://aws.amazon.com/ec2/pricing/on-demand/", []),
        ("aws-p4d.24xlarge", "AWS p4d.24xlarge (8x A100 40GB)", "aws", "a100-sxm4-40gb", 8, nvs("a100-sxm4-40gb"), net("ethernet", 50), 32.77, "2024-2025 (before the June-2025 cut)", "https://www.usage.ai/blogs/finops/ai-ml-cost/gpu-instance-cost-optimization/", ["price"]),
        ("aws-g5.xlarge", "AWS g5.xlarge (1x A10G)", "aws", "a10g-24gb", 1, ic("none", 0.0, 1), None, 1.006, "2024-2025", "https://aws.amazon.com/ec2/instance-types/g5/", ["price"]),
        ("aws-g4dn.xlarge", "AWS g4dn.xlarge (1x T4)", "aws", "t4-16gb", 1, ic("none", 0.0, 1), None, 0.526, "2024-2025", "https://aws.amazon.com/ec2/instance-types/g4/", ["price"]),
        ("azure-nd96isr-h100-v5", "Azure ND96isr H100 v5 (8x H100 SXM)", "azure", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 98.32, "2026-10-06", "https://prices.azure.com/api/retail/prices", []),
        ("coreweave-hgx-h100-8", "CoreWeave HGX H100 8-GPU", "coreweave", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 49.24, "2026-02 and 2026-10", "https://www.coreweave.com/pricing", []),
        ("coreweave-hgx-h200-8", "CoreWeave HGX H200 8-GPU", "coreweave", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), None, 50.44, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-hgx-b200-8", "CoreWeave HGX B200 8-GPU", "coreweave", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), None, 68.80, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-gb200-4", "CoreWeave GB200 NVL72, 4-GPU slice", "coreweave", "gb200-186gb", 4, NVL72, NVL72_NET, 42.00, "2026-02", "https://www.coreweave.com/pricing", ["interconnect", "network"]),
        ("coreweave-a100-8", "CoreWeave 8x A100 80GB", "coreweave", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), None, 21.60, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-l40s-8", "CoreWeave 8x L40S", "coreweave", "l40s-48gb", 8, ic("pcie", PCIE_GBS[4], 8), None, 18.00, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-rtx-pro-6000-8", "CoreWeave 8x RTX PRO 6000", "coreweave", "rtx-pro-6000-blackwell-server-96gb", 8, ic("pcie", PCIE_GBS[5], 8), None, 20.00, "2026-02", "https://www.coreweave.com/pricing", []),
        ("coreweave-gh200-1", "CoreWeave 1x GH200", "coreweave", "gh200-96gb", 1, ic("none", 0.0, 1), None, 6.50, "2026-02", "https://www.coreweave.com/pricing", []),
        ("lambda-h100-sxm-1", "Lambda 1x H100 SXM", "lambda", "h100-sxm-80gb", 1, ic("none", 0.0, 1), None, 3.78, "2026-04/05", "https://lambda.ai/pricing", []),
        ("lambda-h100-sxm-8", "Lambda 8x H100 SXM", "lambda", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, 8 * 2.99, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-h100-pcie-1", "Lambda 1x H100 PCIe", "lambda", "h100-pcie-80gb", 1, ic("none", 0.0, 1), None, 2.49, "2024-2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-a100-40-1", "Lambda 1x A100 40GB SXM", "lambda", "a100-sxm4-40gb", 1, ic("none", 0.0, 1), None, 1.29, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-a10-1", "Lambda 1x A10", "lambda", "a10-24gb", 1, ic("none", 0.0, 1), None, 0.86, "2026-05-07", "https://lambda.ai/pricing", []),
        ("lambda-b200-8", "Lambda 8x B200", "lambda", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), None, 8 * 4.99, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-gh200-1", "Lambda 1x GH200", "lambda", "gh200-96gb", 1, ic("none", 0.0, 1), None, 1.49, "2025", "https://lambda.ai/pricing", ["price"]),
        ("lambda-v100-8", "Lambda 8x V100 16GB", "lambda", "v100-sxm2-16gb", 8, ic("nvlink_mesh", 150.0, 8), None, 6.32, "undated SkyPilot catalog snapshot", "https://github.com/skypilot-org/skypilot-catalog/blob/master/catalogs/v8/lambda/vms.csv", ["interconnect"]),
        ("runpod-h100-sxm-1", "RunPod H100 SXM (Secure Cloud)", "runpod", "h100-sxm-80gb", 1, ic("none", 0.0, 1), None, 2.69, "2025-mid 2026", "https://www.runpod.io/pricing", ["price"]),
        ("runpod-h100-pcie-1", "RunPod H100 PCIe (Secure Cloud)", "runpod", "h100-pcie-80gb", 1, ic("none", 0.0, 1), None, 2.89, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-h200-1", "RunPod H200 (Secure Cloud)", "runpod", "h200-sxm-141gb", 1, ic("none", 0.0, 1), None, 4.59, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-b200-1", "RunPod B200 (Secure Cloud)", "runpod", "b200-sxm-180gb", 1, ic("none", 0.0, 1), None, 6.79, "2026-10-06", "https://www.runpod.io/pricing", []),
        ("runpod-rtx-pro-6000-1", "RunPod RTX PRO 6000 Blackwell Server", "runpod", "rtx-pro-6000-blackwell-server-96gb", 1, ic("none", 0.0, 1), None, 1.69, "2026", "https://www.runpod.io/pricing", ["price"]),
        ("gcp-g2-standard-4", "GCP g2-standard-4 (1x L4)", "gcp", "l4-24gb", 1, ic("none", 0.0, 1), None, 0.75, "2026-03", "https://cloud.google.com/compute/gpus-pricing", ["price"]),
        ("modal-l40s-1", "Modal L40S (serverless, GPU only)", "modal", "l40s-48gb", 1, ic("none", 0.0, 1), None, 1.95, "2026-05-07", "https://modal.com/pricing", []),
        ("modal-l4-1", "Modal L4 (serverless)", "modal", "l4-24gb", 1, ic("none", 0.0, 1), None, 0.80, "2026-05-07", "https://modal.com/pricing", []),
        ("modal-t4-1", "Modal T4 (serverless)", "modal", "t4-16gb", 1, ic("none", 0.0, 1), None, 0.59, "2026-05-07", "https://modal.com/pricing", []),
        ("tensorwave-mi300x-1", "TensorWave MI300X", "tensorwave", "mi300x-192gb", 1, ic("none", 0.0, 1), None, 1.71, "undated (2025-2026)", "https://gpu.blog/gpus/instinct-mi300x-mi300x", ["price"]),
        ("vultr-mi300x-1", "Vultr MI300X", "vultr", "mi300x-192gb", 1, ic("none", 0.0, 1), None, 1.85, "undated (2025-2026)", "https://gpu.blog/gpus/instinct-mi300x-mi300x", ["price"]),
        ("neocloud-mi325x-1", "Neocloud MI325X (2.00-2.25 range)", "various", "mi325x-256gb", 1, ic("none", 0.0, 1), None, 2.00, "undated (2025-2026)", "https://awesomeagents.ai/hardware/amd-mi325x", ["price"]),
    ]
    for sid, name, prov, gid, n, inter, network, usd_h, observed, src, unv in clouds:
        nvl72 = inter is NVL72
        add(sid, name, prov, gid, n, inter, network, price(usd_h, "USD", observed, src), [PRICE_SRC, src, *NVL72_SRC * nvl72], unv,
            NVL72_SLICE_NOTE if nvl72 else None)

    # -- purchasable platforms (no source gives a price) -----------------------------------------------
    plat = [
        ("hgx-a100-8gpu-80gb", "NVIDIA HGX A100 8-GPU (80GB)", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), None, None, []),
        ("hgx-a100-8gpu-40gb", "NVIDIA HGX A100 8-GPU (40GB)", "a100-sxm4-40gb", 8, nvs("a100-sxm4-40gb"), None, None, []),
        ("hgx-a100-4gpu-80gb", "NVIDIA HGX A100 4-GPU (80GB)", "a100-sxm4-80gb", 4, ic("nvlink_mesh", 300.0, 4), None, None, ["interconnect"]),
        ("hgx-a100-16gpu-80gb", "Two HGX A100 8-GPU boards joined into a 16-GPU NVLink domain", "a100-sxm4-80gb", 16, ic("nvswitch", 300.0, 16), None, None, ["interconnect"]),
        ("dgx-a100-80gb", "NVIDIA DGX A100 (80GB)", "a100-sxm4-80gb", 8, nvs("a100-sxm4-80gb"), net("infiniband", 200), 6.5, []),
        ("hgx-h100-8gpu", "NVIDIA HGX H100 8-GPU", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), None, None, []),
        ("hgx-h100-4gpu", "NVIDIA HGX H100 4-GPU", "h100-sxm-80gb", 4, ic("nvlink_mesh", 450.0, 4), None, None, ["interconnect"]),
        ("dgx-h100", "NVIDIA DGX H100", "h100-sxm-80gb", 8, nvs("h100-sxm-80gb"), net("infiniband", 400), 10.2, []),
        ("hgx-h200-8gpu", "NVIDIA HGX H200 8-GPU", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), None, None, []),
        ("hgx-h200-4gpu", "NVIDIA HGX H200 4-GPU", "h200-sxm-141gb", 4, ic("nvlink_mesh", 450.0, 4), None, None, ["interconnect"]),
        ("dgx-h200", "NVIDIA DGX H200", "h200-sxm-141gb", 8, nvs("h200-sxm-141gb"), net("infiniband", 400), 10.2, []),
        ("hgx-b200-8gpu", "NVIDIA HGX B200 8-GPU", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("infiniband", 400), None, ["network"]),
        ("dgx-b200", "NVIDIA DGX B200", "b200-sxm-180gb", 8, nvs("b200-sxm-180gb"), net("infiniband", 400), 14.3, []),
        ("hgx-b300-8gpu", "NVIDIA HGX B300 8-GPU (launched as HGX B300 NVL16)", "b300-sxm-288gb", 8, nvs("b300-sxm-288gb"), net("infiniband", 800), None, ["network"]),
        ("dgx-b300", "NVIDIA DGX B300", "b300-sxm-288gb", 8, nvs("b300-sxm-288gb"), net("infiniband", 800), 14.0, ["power_kw"]),
        ("amd-mi300x-8", "AMD Instinct MI300X Platform (8x OAM)", "mi300x-192gb", 8, ic("infinity_fabric", 448.0, 8), net("infiniband", 400), None, ["network"]),
        ("amd-mi325x-8", "AMD Instinct MI325X Platform (8x OAM)", "mi325x-256gb", 8, ic("infinity_fabric", 448.0, 8), net("infiniband", 400), None, ["network"]),
        ("amd-mi355x-8", "AMD Instinct MI355X Platform (8x OAM)", "mi355x-288gb", 8, ic("infinity_fabric", 537.5, 8), net("infiniband", 400), None, ["network"]),
        ("gaudi2-8card", "Intel Gaudi 2 8-card server (HLS-Gaudi2)", "gaudi2-96gb", 8, ic("roce_mesh", 262.5, 8), net("roce", 300), None, []),
        ("gaudi3-8card", "Intel Gaudi 3 8-card server (HLS-3 reference)", "gaudi3-128gb-oam", 8, ic("roce_mesh", 525.0, 8), net("roce", 600), None, []),
        ("gb200-nvl72-tray", "NVIDIA GB200 NVL72, one compute tray (4 GPUs of the rack's 72-GPU NVLink domain)", "gb200-186gb", 4, NVL72, NVL72_NET, None, ["network"]),
        ("dgx-2-v100", "NVIDIA DGX-2 / HGX-2 (16x V100 32GB, NVSwitch)", "v100-sxm2-32gb", 16, ic("nvswitch", 150.0, 16), None, None, ["gpu", "interconnect"]),
    ]
    for sid, name, gid, n, inter, network, power, unv in plat:
        note = None
        if sid == "dgx-2-v100":
            note = "DGX-2 used V100 SXM3 32GB (350 W); catalogued with the SXM2 32GB part (same memory and bandwidth)."
        if sid == "hgx-a100-16gpu-80gb":
            note = "Reference: 'Two 8-GPU boards could be joined back-to-back into a 16-GPU NVLink domain.'"
        if sid == "gb200-nvl72-tray":
            note = NVL72_TRAY_NOTE
        add(sid, name, "purchase", gid, n, inter, network, None, [PLATFORM_SRC, *NVL72_SRC * (inter is NVL72)], unv, note, power)

    # -- PCIe servers with 1/2/4/8 cards for the PCIe GPUs ---------------------------------------------
    pcie_gpus = [g["id"] for g in gpus if g["form_factor"].startswith("PCIe")]
    for gid in pcie_gpus:
        g = G[gid]
        sizes = (4, 8) if gid == "a16-64gb" else (1, 2, 4, 8)
        for n in sizes:
            inter = pcie_interconnect(g, n)
            add(f"pcie-{gid}-x{n}", f"PCIe server, {n}x {g['name']}", "purchase", gid, n, inter, None, None, [PCIE_SRC],
                [], "A16 boards carry 4 GPUs each." if gid == "a16-64gb" else None)
    return servers
