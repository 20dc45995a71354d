"""Bilingual labels (中文 / English) of the structuring outputs: the agency sheet of the term
sheets and the comparison workbook. They join :data:`abs_engine.report.labels.LABELS` when
this module is imported, so :func:`abs_engine.report.labels.label` renders them as every
other label (a key may not be defined twice).

>>> from abs_engine.report.labels import label
>>> label("ag_tdr", "both")
'目标违约率 / Target default rate (TDR)'
"""

from __future__ import annotations

from .labels import LABELS

#: key -> (中文, English)
STRUCTURING_LABELS: dict[str, tuple[str, str]] = {
    # agency sheet
    "sheet_agency": ("评级压力测试", "Agency stress test"),
    "ag_title": ("评级压力测试：临界累计违约率与目标违约率", "Agency stress test: break-even vs target cumulative default rates"),
    "ag_note_tdr": (
        "目标违约率（TDR）：蒙特卡洛模拟的资产池累计违约率分布中，被超过的概率等于该级别在证券期限上的理想违约概率的水平；"
        "临界累计违约率（BDR）：各压力情景下证券仍足额偿付时资产池的最高累计违约率（非年化CDR）。BDR ≥ TDR 即通过该级别",
        "TDR: the pool's cumulative default rate that the Monte Carlo paths exceed with the rating's idealised default "
        "probability at the tranche's term; BDR: the highest cumulative pool default rate at which the tranche is still "
        "whole under each stress. A tranche passes a rating when BDR ≥ TDR",
    ),
    "ag_note_multiple": (
        "倍数法：各压力情景下违约曲线的临界倍数不低于该级别的倍数即通过",
        "Multiple test: a tranche passes a rating when the break-even multiple of each stress's default curve is at "
        "least the rating's multiple",
    ),
    "ag_source": ("级别理想违约率来源", "Source of the rating table"),
    "ag_settings": ("模拟设置", "Simulation"),
    "ag_stresses": ("压力情景", "Stresses"),
    "ag_stress": ("压力情景", "Stress"),
    "ag_stress_base": ("基准违约曲线", "base default curve"),
    "ag_stress_front_loaded": ("违约时间前置", "front-loaded defaults"),
    "ag_stress_back_loaded": ("违约时间后置", "back-loaded defaults"),
    "ag_stress_recovery_haircut": ("回收率下降", "lower recoveries"),
    "ag_stress_recovery_lag": ("回收时间延后", "later disposal"),
    "ag_stress_rate_up": ("利率上升", "rates up"),
    "ag_stress_rate_down": ("利率下降", "rates down"),
    "ag_description": ("说明", "Description"),
    "ag_tranche_section": ("证券", "Tranche"),
    "ag_level": ("临界倍数", "Break-even multiple"),
    "ag_bdr": ("临界累计违约率", "Break-even cumulative default rate (BDR)"),
    "ag_bound": ("结果", "Result"),
    "ag_rating": ("级别", "Rating"),
    "ag_horizon": ("期限（年）", "Term (years)"),
    "ag_probability": ("理想违约概率", "Idealised default probability"),
    "ag_order": ("排序位次 / 路径数", "Rank / paths"),
    "ag_tdr": ("目标违约率", "Target default rate (TDR)"),
    "ag_target_multiple": ("目标倍数", "Target multiple"),
    "ag_min_cushion": ("最小安全距离", "Smallest cushion"),
    "ag_binding": ("约束情景", "Binding stress"),
    "ag_passes": ("通过", "Passes"),
    "ag_yes": ("是", "yes"),
    "ag_no": ("否", "no"),
    "ag_summary": ("结论", "Summary"),
    "ag_stated": ("发行评级", "Stated rating"),
    "ag_min_bdr": ("最低临界累计违约率", "Lowest BDR (cumulative)"),
    "ag_min_multiple": ("最低临界倍数", "Lowest break-even multiple"),
    "ag_implied": ("隐含级别", "Implied rating"),
    "ag_cushion": ("安全距离", "Cushion"),
    "ag_unresolved": ("路径数不足以分辨该分位数，以最大模拟值代替", "Too few paths to resolve the quantile: the largest simulated rate stands in"),
    "ag_range_note": ("“全区间足额”：该压力情景最坏时仍足额偿付，临界累计违约率为其下限",
                      "“whole across the range”: whole even at the stress's worst, so the BDR is a lower bound"),
    # comparison workbook
    "cmp_workbook": ("结构对比", "Structure comparison"),
    "sheet_cmp": ("对比", "Comparison"),
    "sheet_cmp_scenarios": ("分情景", "By scenario"),
    "sheet_cmp_tranches": ("分档明细", "Tranches"),
    "sheet_cmp_risk": ("风险", "Risk"),
    "sheet_cmp_inputs": ("输入", "Inputs"),
    "cmp_title": ("结构对比", "Structure comparison"),
    "cmp_under": ("情景", "Scenario"),
    "cmp_note": ("各结构在相同情景下运行；收益率为设立日按面值购入的收益率（人民币优先级与中间级：中债收益率惯例；次级：年复利内部收益率，ACT/365F）；融资成本为投资者所持证券现金流的同口径收益率；"
                 "预期损失为蒙特卡洛平均损失率；临界累计违约率为首个情景违约曲线倍数下的资产池累计违约率",
                 "Every structure runs under the same scenarios; yields are at par at closing (a CNY deal's notes: the "
                 "ChinaBond convention; the subordinate: the annual IRR, ACT/365F); the cost of funding is the same yield of "
                 "the investor-held notes' cash; expected "
                 "loss is the Monte Carlo mean loss rate; the BDR is the pool's cumulative default rate at the break-even "
                 "multiple of the first scenario's default curve"),
    "cmp_structure": ("结构", "Structure"),
    "cmp_section": ("类别", "Section"),
    "cmp_measure": ("指标", "Measure"),
    "cmp_source": ("来源", "Source"),
    "cmp_description": ("说明", "Description"),
    "cmp_scenario": ("情景", "Scenario"),
    "cmp_tranche": ("证券", "Tranche"),
    "cmp_kind": ("类别", "Class"),
    "m_balance": ("发行规模（元）", "Balance (CNY)"),
    "m_share_of_notes": ("占比", "Share of notes"),
    "m_coupon": ("票面利率 / 利差", "Coupon / spread"),
    "m_wal_years": ("加权平均期限（年）", "WAL (years)"),
    "m_yield": ("收益率", "Yield"),
    "m_loss_rate": ("损失率", "Loss rate"),
    "m_whole": ("足额偿付", "Whole"),
    "m_interest": ("利息（元）", "Interest (CNY)"),
    "m_principal": ("本金（元）", "Principal (CNY)"),
    "m_residual": ("超额收益（元）", "Residual (CNY)"),
    "m_expected_loss": ("预期损失率", "Expected loss"),
    "m_bdr": ("临界累计违约率", "BDR (cumulative default rate)"),
    "m_bdr_bound": ("临界累计违约率结果", "BDR result"),
    "m_notes_total": ("证券总额（元）", "Notes total (CNY)"),
    "m_senior_share": ("优先级占比", "Senior share"),
    "m_funding_cost": ("原始权益人融资成本", "Originator's cost of funding"),
    "m_all_in_cost": ("含费用的综合成本", "All-in cost (with fees)"),
    "m_subordinate_balance": ("次级规模（元）", "Subordinate balance (CNY)"),
    "m_subordinate_residual": ("次级超额收益（元）", "Residual to the subordinate (CNY)"),
    "m_subordinate_principal": ("次级本金（元）", "Subordinate principal (CNY)"),
    "m_subordinate_yield": ("次级收益率", "Subordinate yield"),
    "m_all_whole": ("次级以上均足额", "Classes above the subordinate whole"),
    "sec_tranche": ("分档", "Tranche"),
    "sec_structure": ("结构", "Structure"),
    "cmp_paths": ("蒙特卡洛路径数", "Monte Carlo paths"),
}

_overlap = sorted(set(STRUCTURING_LABELS) & set(LABELS))
if _overlap and any(LABELS[k] != STRUCTURING_LABELS[k] for k in _overlap):
    raise RuntimeError(f"structuring labels redefine term-sheet labels: {', '.join(_overlap)}")
LABELS.update(STRUCTURING_LABELS)
