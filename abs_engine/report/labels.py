"""Bilingual labels of the term sheets (中文 / English).

Every piece of fixed text a term sheet shows comes from :data:`LABELS`, so a translation
is fixed in one place. :func:`label` renders a key in one language or both; ``sep`` says
how the two are joined (``" / "`` in running text, ``"\\n"`` in table headers).

>>> label("originator", "both")
'原始权益人 / Originator'
>>> label("originator", "en"), label("originator", "zh")
('Originator', '原始权益人')
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en", "both"]
LANGS: tuple[str, ...] = ("zh", "en", "both")

#: key -> (中文, English)
LABELS: dict[str, tuple[str, str]] = {
    # workbooks and sheets (sheet names: no / \ ? * [ ] :, at most 31 characters)
    "termsheet": ("条款摘要", "Term sheet"),
    "senior": ("优先级", "Senior"),
    "mezzanine": ("中间级", "Mezzanine"),
    "subordinate": ("次级", "Subordinate"),
    "senior_notes": ("优先级资产支持证券", "Senior notes"),
    "mezzanine_notes": ("中间级资产支持证券", "Mezzanine notes"),
    "subordinate_notes": ("次级资产支持证券", "Subordinate notes"),
    "sheet_summary": ("概要", "Summary"),
    "sheet_collateral": ("资产池", "Collateral"),
    "sheet_schedule": ("偿付计划", "Schedule"),
    "sheet_sensitivity": ("敏感性", "Sensitivity"),
    "sheet_charts": ("图表", "Charts"),
    "sheet_chart_data": ("图表数据", "Chart data"),
    # deal information
    "deal_info": ("项目信息", "Deal information"),
    "deal_name": ("项目名称", "Deal name"),
    "deal_name_zh": ("中文名称", "Chinese name"),
    "asset_type": ("基础资产类型", "Asset type"),
    "currency": ("币种", "Currency"),
    "parties": ("参与机构", "Parties"),
    "originator": ("原始权益人", "Originator"),
    "manager": ("计划管理人", "Manager"),
    "servicer": ("资产服务机构", "Servicer"),
    "custodian": ("托管人", "Custodian"),
    "guarantor": ("担保人", "Guarantor"),
    "shortfall_undertaker": ("差额支付承诺人", "Shortfall undertaker"),
    "key_dates": ("重要日期", "Key dates"),
    "cutoff_date": ("封包日", "Cut-off date"),
    "closing_date": ("设立日", "Closing date"),
    "first_payment_date": ("首个兑付日", "First payment date"),
    "expected_maturity": ("预期到期日", "Expected maturity"),
    "legal_maturity": ("法定到期日", "Legal maturity"),
    "payment_frequency": ("兑付频率", "Payment frequency"),
    "day_count": ("计息基准", "Day count"),
    "calendar": ("工作日历", "Calendar"),
    # asset types
    "asset_pledge_loan": ("知识产权质押贷款", "IP-pledge loans"),
    "asset_licence": ("知识产权许可应收许可费", "IP licence-fee receivables"),
    "asset_transfer": ("知识产权转让应收账款", "IP transfer receivables"),
    "asset_mixed": ("混合", "Mixed"),
    # frequencies
    "freq_monthly": ("按月", "Monthly"),
    "freq_quarterly": ("按季", "Quarterly"),
    "freq_semiannual": ("按半年", "Semi-annual"),
    "freq_annual": ("按年", "Annual"),
    # capital structure
    "capital_structure": ("资本结构", "Capital structure"),
    "class": ("证券", "Class"),
    "kind": ("类别", "Kind"),
    "rank": ("偿付顺序", "Rank"),
    "size_yuan": ("发行规模（元）", "Size (CNY)"),
    "size_wan": ("发行规模（万元）", "Size (CNY 10k)"),
    "share_of_notes": ("占比", "Share of notes"),
    "coupon": ("票面利率", "Coupon"),
    "coupon_none": ("无", "none"),
    "coupon_floor": ("下限", "floor"),
    "coupon_cap": ("上限", "cap"),
    "credit_enhancement": ("信用增级", "Credit enhancement"),
    "wal_scenario": ("加权平均期限（年）", "WAL (years)"),
    "rating": ("评级", "Rating"),
    "principal_style": ("还本方式", "Principal"),
    "style_pass_through": ("过手摊还", "Pass-through"),
    "style_scheduled": ("计划摊还", "Scheduled"),
    "style_bullet": ("到期一次还本", "Bullet"),
    "total": ("合计", "Total"),
    "cs_note_ce": (
        "信用增级 = 劣后于该级的证券占证券总额的比例",
        "Credit enhancement = share of notes junior to the class",
    ),
    "cs_note_wal_result": (
        "加权平均期限自设立日起算（引擎结果）",
        "WAL in years from the closing date (engine result)",
    ),
    "cs_note_wal_analytics": (
        "加权平均期限自结算日起算（定价分析）",
        "WAL in years from the settlement date (pricing analytics)",
    ),
    # scenarios
    "scenarios": ("情景", "Scenarios"),
    "scenario": ("情景", "Scenario"),
    "description": ("说明", "Description"),
    "cdr": ("年违约率", "CDR"),
    "cpr": ("年早偿率", "CPR"),
    "recovery_haircut": ("处置折扣", "Disposal haircut"),
    "recovery_lag": ("处置周期（月）", "Disposal lag (months)"),
    "vector": ("按月向量", "monthly vector"),
    "tape_pd": ("按资产违约概率", "tape PDs"),
    "by_type": ("按专利类型", "by patent type"),
    "recovery_value_decay": ("质押物年贬值率", "Collateral value decay p.a."),
    "recovery_rate_override": ("回收率（替代处置价值）", "Recovery rate (instead of values)"),
    "termination_rate": ("年终止率", "Termination rate"),
    "receivable_recovery_rate": ("应收回收率", "Receivable recovery rate"),
    "receivable_recovery_lag": ("应收回收周期（月）", "Receivable recovery lag (months)"),
    "invalidation_hazard": ("专利年无效率", "Patent invalidation p.a."),
    "patent_events": ("专利事件数", "Patent events"),
    "support_failures": ("增信方违约", "Support failures"),
    # credit support (增信措施)
    "sheet_support": ("增信措施", "Credit support"),
    "credit_support": ("增信措施", "Credit support"),
    "support_layers": ("资产层面风险分担", "Asset-level risk sharing"),
    "deal_support": ("证券层面增信", "Deal-level support"),
    "support_paid_by_scenario": ("各情景下增信方支付", "Paid by each support party, per scenario"),
    "support_status": ("状态", "Status"),
    "support_active": ("正常", "active"),
    "support_failed": ("自{date}起违约（额度归零）", "failed from {date} (capacity 0)"),
    "party": ("增信方", "Party"),
    "mechanism": ("机制", "Mechanism"),
    "provider": ("提供方", "Provider"),
    "capacity": ("额度（元）", "Capacity (CNY)"),
    "per_asset_cap": ("单笔上限（元）", "Per-asset cap (CNY)"),
    "annual_cap": ("年度上限（元）", "Annual cap (CNY)"),
    "terms": ("条款", "Terms"),
    "unlimited": ("无上限", "unlimited"),
    "support_paid": ("支付合计（元）", "Paid (CNY)"),
    "support_net_cost": ("净成本（元）", "Net cost (CNY)"),
    "capacity_end": ("期末剩余额度（元）", "Capacity left at end (CNY)"),
    "no_support_layers": ("资产池未设风险分担安排", "No risk-sharing layers in the pools"),
    "no_deal_support": ("未设差额支付承诺或证券担保", "No shortfall undertaking or guarantee of the notes"),
    "support_note": (
        "净成本 = 支付 − 再担保返还 − 取得的回收款；逐期明细见 layers.csv、support.csv",
        "Net cost = paid − re-guarantee refunds − recoveries kept; period by period in layers.csv and support.csv",
    ),
    "kind_buy_back": ("资产回购（CAPP）", "Guaranteed buy-back (CAPP)"),
    "kind_insurance": ("保证保险", "Guarantee insurance"),
    "kind_compensation_fund": ("风险补偿资金池", "Risk compensation fund"),
    "kind_guarantee": ("担保", "Guarantee"),
    "kind_credit_insurance": ("信用保险", "Credit insurance"),
    "kind_reguarantee": ("再担保", "Re-guarantee"),
    "kind_interest_subsidy": ("贴息", "Interest subsidy"),
    "kind_annual_fee_upkeep": ("专利年费维持", "Patent annual-fee upkeep"),
    "kind_undertaking": ("差额支付承诺", "Shortfall payment undertaking"),
    # key figures
    "key_figures": ("关键指标", "Key figures"),
    "tranche": ("证券", "Tranche"),
    "price": ("净价", "Clean price"),
    "dirty_price": ("全价", "Dirty price"),
    "accrued": ("应计利息", "Accrued"),
    "yield": ("收益率", "Yield"),
    "compounding": ("复利方式", "Compounding"),
    "wal_years": ("加权平均期限（年）", "WAL (years)"),
    "macaulay_duration": ("麦考利久期", "Macaulay duration"),
    "modified_duration": ("修正久期", "Modified duration"),
    "convexity": ("凸性", "Convexity"),
    "z_spread": ("Z利差", "Z-spread"),
    "effective_duration": ("有效久期", "Effective duration"),
    "discount_margin": ("贴现利差", "Discount margin"),
    "yield_table": ("价格-收益率表", "Price / yield table"),
    "first_principal_date": ("首次还本日", "First principal date"),
    "last_principal_date": ("末次还本日", "Last principal date"),
    "principal_window_months": ("还本窗口（月）", "Principal window (months)"),
    "total_interest": ("利息合计（元）", "Total interest (CNY)"),
    "total_principal": ("本金合计（元）", "Total principal (CNY)"),
    "total_residual": ("剩余收益（超额收益）合计（元）", "Total residual / excess return (CNY)"),
    "loss": ("本金减记（元）", "Principal write-down (CNY)"),
    "loss_share": ("本金减记率（占发行规模）", "Write-down (% of size)"),
    "loss_incl_interest_share": ("损失率（本金减记＋未获支付利息，占发行规模）",
                                 "Loss incl. interest never paid (% of size)"),
    "loss_note": (
        "本金减记率 = 本金减记 / 发行规模；损失率（含未获支付利息）= (本金减记 + 最终未获支付的利息) / 发行规模，"
        "与临界违约率损失曲线及蒙特卡洛预期损失口径一致",
        "Write-down % = principal written down / size; loss incl. interest never paid = (write-down + interest "
        "never paid) / size, the definition of the break-even loss curve and the Monte Carlo expected loss",
    ),
    "no_cash_note": (
        "—：该情景下证券在结算日后未收到任何现金（全部损失），加权平均期限、收益率、内部收益率等无定义"
        "（蒙特卡洛路径中此类收益率计为 −100%）",
        "—: the tranche receives no cash after settlement in that scenario (total loss), so WAL, yield, IRR "
        "and the other pricing figures are undefined (a Monte Carlo path counts such a yield as −100%)",
    ),
    "note_no_cash": ("结算日后未收到现金", "receives no cash after settlement"),
    "note_settled": ("结算日在最后兑付日当日或之后", "settlement is on or after the last payment date"),
    "note_no_face": ("结算日无未偿本金", "no face outstanding at settlement"),
    "note_not_priced": ("无法定价", "not priced"),
    "comp_simple": ("单利", "simple"),
    "comp_annual": ("按年复利", "annual"),
    "comp_semiannual": ("按半年复利", "semi-annual"),
    "comp_quarterly": ("按季复利", "quarterly"),
    "comp_monthly": ("按月复利", "monthly"),
    "comp_continuous": ("连续复利", "continuous"),
    "comp_simple_stub": ("首期单利", "simple first period"),
    "comp_chinabond": ("中债收益率算法（银发〔2007〕200号）", "ChinaBond (PBoC 2007 No. 200)"),
    "irr": ("内部收益率", "IRR"),
    "cash_multiple": ("现金回报倍数", "Cash multiple"),
    "note": ("备注", "Note"),
    "balance": ("初始本金（元）", "Original balance (CNY)"),
    "no_analytics": (
        "未提供定价分析（abs_engine.analytics.tranche_analytics）；仅列示引擎结果",
        "Pricing analytics not supplied (abs_engine.analytics.tranche_analytics); engine results only",
    ),
    # collateral
    "pool_statistics": ("资产池统计", "Pool statistics"),
    "pool": ("资产池", "Pool"),
    "pool_kinds": ("资产类型", "Asset kinds"),
    "n_assets": ("资产笔数", "Number of assets"),
    "n_obligors": ("借款人户数", "Number of obligors"),
    "n_ip_rights": ("知识产权数量", "Number of IP rights"),
    "total_balance": ("未偿本金余额（元）", "Outstanding balance (CNY)"),
    "total_balance_wan": ("未偿本金余额（万元）", "Outstanding balance (CNY 10k)"),
    "average_balance": ("单笔平均余额（元）", "Average balance per asset (CNY)"),
    "average_obligor_balance": ("单户平均余额（元）", "Average balance per obligor (CNY)"),
    "max_obligor_balance": ("单户最大余额（元）", "Largest obligor balance (CNY)"),
    "wa_rate": ("加权平均利率", "WA interest rate"),
    "wa_remaining_term_months": ("加权平均剩余期限（月）", "WA remaining term (months)"),
    "wa_seasoning_months": ("加权平均账龄（月）", "WA seasoning (months)"),
    "wa_ltv": ("加权平均质押率", "WA loan-to-value"),
    "ltv_coverage": ("有评估价值的余额占比", "Balance with an appraised value"),
    "top1_share": ("最大借款人集中度", "Top-1 obligor concentration"),
    "top5_share": ("前五大借款人集中度", "Top-5 obligor concentration"),
    "top10_share": ("前十大借款人集中度", "Top-10 obligor concentration"),
    "strata": ("资产池分布", "Stratification"),
    "bucket": ("分布", "Bucket"),
    "count": ("笔数", "Assets"),
    "obligors": ("户数", "Obligors"),
    "strata_balance": ("未偿本金余额（元）", "Balance (CNY)"),
    "share": ("余额占比", "Share of balance"),
    "strata_ip_type": ("按知识产权类型", "By type of IP"),
    "strata_industry": ("按行业", "By industry"),
    "strata_region": ("按地区", "By region"),
    "strata_obligor_size": ("按借款人未偿本金余额", "By obligor size"),
    "strata_remaining_term": ("按剩余期限", "By remaining term"),
    "strata_rate": ("按贷款利率", "By interest rate"),
    "strata_ltv": ("按质押率", "By loan-to-value"),
    "top_obligors": ("前十大借款人", "Top obligors"),
    "obligor_rank": ("排名", "Rank"),
    "obligor": ("借款人", "Obligor"),
    "cumulative_share": ("累计占比", "Cumulative share"),
    "bucket_na": ("不适用", "n/a"),
    "stats_unavailable": ("该类资产池暂无统计", "Pool statistics not available for this pool kind"),
    # eligibility criteria (入池标准) and how the pool measures against them
    "eligibility": ("入池标准", "Eligibility criteria"),
    "elig_criterion": ("标准", "Criterion"),
    "elig_limit": ("限额", "Limit"),
    "elig_pool_value": ("资产池最不利值", "Pool value (worst loan)"),
    "elig_excluded": ("剔除笔数", "Loans excluded"),
    "elig_excluded_note": ("不符合入池标准而剔除的贷款，不计入上述统计", "Loans excluded for failing the criteria are not in the figures above"),
    "elig_min_annual_sales": ("借款人年销售收入不低于", "Min. borrower annual sales"),
    "elig_min_net_assets": ("借款人净资产不低于", "Min. borrower net assets"),
    "elig_max_loan_to_sales": ("贷款余额/年销售收入不高于", "Max. loan-to-sales"),
    "elig_max_ltv": ("质押率不高于", "Max. loan-to-value"),
    "elig_min_balance": ("单笔贷款余额不低于", "Min. loan balance"),
    "elig_max_balance": ("单笔贷款余额不高于", "Max. loan balance"),
    "elig_max_original_term_months": ("贷款期限不超过（月）", "Max. original term (months)"),
    "elig_max_remaining_term_months": ("剩余期限不超过（月）", "Max. remaining term (months)"),
    "elig_min_seasoning_months": ("账龄不少于（月）", "Min. seasoning (months)"),
    "elig_industries": ("行业限于", "Industries allowed"),
    "elig_regions": ("地区限于", "Regions allowed"),
    "elig_ip_types": ("知识产权类型限于", "IP types allowed"),
    "ip_patent": ("专利", "patent"),
    "ip_trademark": ("商标", "trademark"),
    "ip_copyright": ("著作权", "copyright"),
    "ip_mixed": ("混合", "mixed"),
    "ip_invention": ("发明专利", "invention patent"),
    "ip_utility_model": ("实用新型", "utility model"),
    "ip_design": ("外观设计", "design"),
    "ip_other": ("其他", "other"),
    # schedule
    "period": ("期次", "Period"),
    "payment_date": ("兑付日", "Payment date"),
    "opening_balance": ("期初本金余额（元）", "Opening balance (CNY)"),
    "interest": ("利息（元）", "Interest (CNY)"),
    "principal": ("本金（元）", "Principal (CNY)"),
    "residual": ("剩余收益（元）", "Residual (CNY)"),
    "closing_balance": ("期末本金余额（元）", "Closing balance (CNY)"),
    "interest_shortfall": ("期末未付利息（元）", "Unpaid interest, end of period (CNY)"),
    "new_interest_shortfall": ("本期新增利息短缺（元）", "New interest shortfall (CNY)"),
    "shortfall_note": (
        "本期新增利息短缺：本期新产生的未付利息，合计为各期之和；期末未付利息：期末结转（累计）的未付利息余额，"
        "合计行列示最终未获支付的利息（新增短缺合计 − 以后各期补付）",
        "New interest shortfall: unpaid interest arising in the period, totalled over the periods; unpaid "
        "interest, end of period: the carried (cumulative) balance, whose total row shows the interest never "
        "paid (new shortfalls less what later periods made up)",
    ),
    "writedown": ("本金减记（元）", "Writedown (CNY)"),
    "deal_state": ("项目状态", "Deal state"),
    "state_normal": ("正常", "normal"),
    "state_accelerated": ("加速清偿", "accelerated"),
    "state_event_of_default": ("违约事件", "event of default"),
    "schedule_of": ("偿付计划", "Payment schedule"),
    # sensitivity
    "sensitivity": ("情景敏感性分析", "Scenario sensitivity"),
    # charts
    "chart_balance": ("本金余额", "Outstanding balance"),
    "chart_pool_loss": ("资产池累计损失", "Cumulative pool loss"),
    "chart_pool_loss_before": ("资产池累计损失（增信前）", "Cumulative pool loss before support"),
    "chart_pool_loss_after": ("资产池累计损失（增信后）", "Cumulative pool loss after support"),
    "chart_date": ("日期", "Date"),
    "chart_yuan": ("元", "CNY"),
    "chart_data_note": ("图表数据（期末余额与资产池累计损失）", "Chart data (closing balances and cumulative pool loss)"),
    # break-even and loss distribution (abs_engine/report/risk_sheet.py; docs/scenarios.md)
    "sheet_risk": ("临界违约率与损失分布", "Break-even & losses"),
    "risk_title": ("临界违约率与损失分布", "Break-even default rates and loss distribution"),
    "be_section": ("临界违约率（各证券仍足额兑付的最不利水平）", "Break-even levels (the worst level at which each tranche is still whole)"),
    "be_note": ("足额：每个兑付日利息足额、计划摊还证券按计划还本、法定到期日前本金全部偿还；向量化二分搜索，精度 1 个基点",
                "Whole: all interest due on every payment date, scheduled principal on schedule, all principal by the "
                "legal maturity; vectorised bisection to 1 bp"),
    "criterion": ("判定标准", "Criterion"),
    "criterion_timely": ("按时足额", "timely"),
    "criterion_expected": ("预期到期日前足额", "by the expected maturity"),
    "criterion_ultimate": ("最终足额", "ultimate"),
    "be_stress": ("压力因子", "Stress"),
    "stress_cdr": ("固定年违约率（CDR）", "Constant CDR"),
    "stress_cdr_multiple": ("基准违约曲线倍数", "Multiple of the base default curve"),
    "stress_recovery": ("违约回收率", "Recovery rate"),
    "stress_invalidation": ("专利年无效率", "Patent invalidation rate"),
    "stress_invalidation_multiple": ("基准专利无效率倍数", "Multiple of the base invalidation rate"),
    "be_level": ("临界水平", "Break-even"),
    "be_first_break": ("首个未足额水平", "First break"),
    "be_base_level": ("基准水平", "Base level"),
    "be_multiple": ("相对基准倍数", "Multiple of base"),
    "be_bound": ("结果", "Result"),
    "bound_found": ("已找到", "found"),
    "bound_range": ("全区间足额", "whole across the range"),
    "bound_never_whole": ("始终未足额", "never whole"),
    "mc_section": ("蒙特卡洛模拟（单因子高斯 Copula）", "Monte Carlo (one-factor Gaussian copula)"),
    "mc_note": ("模拟设置", "Settings"),
    "mc_paths": ("路径数", "paths"),
    "mc_expected_loss": ("预期损失率（含未获支付利息）", "Expected loss (incl. interest never paid)"),
    "mc_loss_note": (
        "损失 = 本金减记 + 最终未获支付的利息，占发行规模的比例（与临界违约率损失曲线口径相同；敏感性表中的本金减记率不含利息）",
        "Loss = principal write-down + interest never paid, as a share of the tranche's size (as in the "
        "break-even loss curve; the write-down % of the sensitivity sheet leaves interest out)",
    ),
    "mc_seed": ("随机种子", "seed"),
    "mc_correlation": ("资产相关系数", "correlation"),
    "corr_by_none": ("统一相关系数", "one correlation for all obligors"),
    "corr_by_industry": ("按行业", "by industry"),
    "corr_by_ip_type": ("按知识产权类型", "by IP type"),
    "rating_below": ("低于", "below"),
    "stat_mean": ("均值", "Mean"),
    "stat_std": ("标准差", "Std dev"),
    "stat_max": ("最大值", "Max"),
    "stat_pct": ("{q}% 分位", "{q}th pct"),
    "mc_loss_probability": ("发生损失的概率", "P(any loss)"),
    "mc_loss_probability_ub": ("损失概率 95% 上限", "P(loss), 95% upper bound"),
    "mc_loss_p95": ("损失率 95% 分位", "Loss, 95th pct"),
    "mc_loss_p99": ("损失率 99% 分位", "Loss, 99th pct"),
    "mc_loss_p99_9": ("损失率 99.9% 分位", "Loss, 99.9th pct"),
    "mc_wal_mean": ("平均加权平均期限（年）", "Mean WAL (years)"),
    "mc_yield_mean": ("平均收益率", "Mean yield"),
    "mc_yield_p5": ("收益率 5% 分位", "Yield, 5th pct"),
    "mc_rating": ("映射评级", "Mapped rating"),
    "mc_rating_ub": ("映射评级（95% 上限）", "Mapped rating (95% bound)"),
    "mc_rating_note": ("评级映射：证券发生损失的概率对照评级表（穆迪 1920–2009 年平均累计违约率，按平均加权平均期限插值）；仅供参考，并非评级",
                       "Rating map: the tranche's probability of any loss against the rating table (Moody's average "
                       "cumulative default rates 1920–2009, interpolated at the mean WAL); indicative, not a rating"),
    "mc_pool": ("资产池违约率与损失率", "Pool default and loss rates"),
    "measure": ("指标", "Measure"),
    "pool_default_rate": ("累计违约率", "Cumulative default rate"),
    "pool_loss_rate": ("累计损失率", "Cumulative loss rate"),
    "mc_histogram": ("损失率分布（路径数）", "Loss-rate distribution (paths)"),
    "mc_bin": ("损失率区间", "Loss-rate bin"),
    "mc_histogram_note": ("各列为损失率落入该区间的路径数：资产池及各证券", "Paths whose loss rate falls in each bin: the pool and each tranche"),
    "mc_chart": ("资产池损失率分布", "Pool loss-rate distribution"),
    # footer
    "generated_by": ("由 abs_engine 生成", "Generated by abs_engine"),
}


def label(key: str, lang: str, sep: str = " / ") -> str:
    """The label of ``key`` in ``lang`` (``zh``, ``en`` or ``both``, joined by ``sep``)."""
    zh, en = LABELS[key]
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    if lang == "both":
        return f"{zh}{sep}{en}"
    raise ValueError(f"unknown language {lang!r} (zh, en, both)")


#: Chinese name of a currency unit, for labels of deals not in 元 (CNY).
CURRENCY_ZH: dict[str, str] = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元", "GBP": "英镑"}


def in_currency(text: str, currency: str) -> str:
    """A label written in 元 / CNY, restated in the deal's ``currency``.

    >>> in_currency("发行规模（万元） / Size (CNY 10k)", "USD")
    '发行规模（万美元） / Size (USD 10k)'
    >>> in_currency("元", "USD"), in_currency("利息（元）", "CNY")
    ('美元', '利息（元）')
    """
    if currency == "CNY":
        return text
    zh = CURRENCY_ZH.get(currency, currency)
    text = text.replace("（万元）", f"（万{zh}）").replace("（元）", f"（{zh}）").replace("CNY", currency)
    return zh if text == "元" else text


def sheet_title(key: str, lang: str, suffix: str = "") -> str:
    """A sheet name from a label: languages joined by a space (``/`` is not allowed)."""
    return label(key, lang, sep=" ") + (f" {suffix}" if suffix else "")
