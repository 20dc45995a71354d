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
    "status_as_of": ("基准日", "As of (status date)"),
    "pool_as_at": ("资产池数据截至（收款期间末）", "Pool figures as at (end of the collection period)"),
    "current_balance": ("基准日余额（元）", "Current balance (CNY)"),
    "current_balance_wan": ("基准日余额（万元）", "Current balance (CNY 10k)"),
    "factor": ("本金因子", "Factor"),
    "current_credit_enhancement": ("基准日信用增级", "Current credit enhancement"),
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
    "comp_chinabond_icma": ("中债收益率算法（首期按 ICMA 准付息周期）", "ChinaBond, ICMA first period"),
    "yield_note_chinabond": (
        "收益率按中债收益率算法（银发〔2007〕200号）：剩余多次付息时按付息频率 f 复利，第 i 次付款折现 d/TS + i 个付息周期，TS 为当前付息周期的实际天数（首个不规则付息期亦同）；仅剩一次付款时按单利。"
        "按面值买入的证券仅在每期利息恰为 C/f 时收益率等于票面利率；本证券按 ACT/365 计息，每期利息为 C × 实际天数/365（各期天数不同），故面值价格下的收益率与票面利率略有差异",
        "Yield in the ChinaBond convention (PBoC 银发〔2007〕200号): compounded at the coupon frequency f, the "
        "i-th payment discounted over d/TS + i coupon periods, TS the actual days of the current coupon period "
        "(an odd first period too); simple interest when one payment is left. A note at par yields exactly its "
        "coupon only when every period pays C/f; these notes accrue ACT/365, each period paying C × its days / "
        "365 (periods of different lengths), so at par the yield differs slightly from the coupon"),
    "yield_note_chinabond_icma": (
        "收益率按中债收益率算法，但首个不规则付息期按 ICMA 准付息周期（12/f 个月的规则周期）计算 d/TS；其余同中债算法",
        "Yield in the ChinaBond convention, except that an odd first period is measured on regular quasi-coupon "
        "periods of 12/f months (ICMA), not on its actual days"),
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
    # receivable pools: their obligors are debtors (债务人), of a licence pool licensees (被许可人),
    # and what they owe is remaining receivables (剩余应收款), not an outstanding principal
    "n_obligors__recv": ("债务人户数", "Number of obligors"),
    "n_obligors__licence": ("被许可人户数", "Number of licensees"),
    "average_balance__recv": ("单笔平均剩余应收款（元）", "Average remaining receivables per asset (CNY)"),
    "average_obligor_balance__recv": ("单户平均剩余应收款（元）", "Average remaining receivables per obligor (CNY)"),
    "average_obligor_balance__licence": ("单户平均剩余应收款（元）", "Average remaining receivables per licensee (CNY)"),
    "max_obligor_balance__recv": ("单户最大剩余应收款（元）", "Largest obligor's remaining receivables (CNY)"),
    "max_obligor_balance__licence": ("单户最大剩余应收款（元）", "Largest licensee's remaining receivables (CNY)"),
    "top1_share__recv": ("最大债务人集中度", "Top-1 obligor concentration"),
    "top5_share__recv": ("前五大债务人集中度", "Top-5 obligor concentration"),
    "top10_share__recv": ("前十大债务人集中度", "Top-10 obligor concentration"),
    "top1_share__licence": ("最大被许可人集中度", "Top-1 licensee concentration"),
    "top5_share__licence": ("前五大被许可人集中度", "Top-5 licensee concentration"),
    "top10_share__licence": ("前十大被许可人集中度", "Top-10 licensee concentration"),
    "strata_obligor_size__recv": ("按债务人剩余应收款", "By obligor size (remaining receivables)"),
    "strata_obligor_size__licence": ("按被许可人剩余应收款", "By licensee size (remaining receivables)"),
    "top_obligors__recv": ("前十大债务人", "Top obligors"),
    "top_obligors__licence": ("前十大被许可人", "Top licensees"),
    "obligor__recv": ("债务人", "Obligor"),
    "obligor__licence": ("被许可人", "Licensee"),
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
    "interest_never_paid": ("最终未获支付利息（元）", "Interest never paid (CNY)"),
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
    "chart_amount": ("金额（元）", "Amount (CNY)"),
    "chart_writedown": ("累计减记", "cum. write-down"),
    "chart_loss": ("累计损失", "cum. loss"),
    "chart_defaults": ("累计违约", "cum. defaults"),
    "chart_data_note": ("图表数据（期末余额、累计减记、资产池累计违约与损失）",
                        "Chart data (closing balances, cumulative write-downs, the pool's cumulative defaults and losses)"),
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
    # investor figures (abs_engine/studies/investor.py; abs_engine/report/investor_sheets.py)
    "sheet_structure": ("结构条款", "Structure"),
    "sheet_events": ("事件", "Events"),
    "sheet_stress": ("压力测试", "Stress"),
    "structure_title": ("交易结构条款", "Structure terms"),
    "reserves": ("储备账户及目标余额", "Reserve accounts and targets"),
    "account": ("账户", "Account"),
    "initial_balance": ("初始余额（元）", "Initial balance (CNY)"),
    "target": ("目标余额", "Target"),
    "no_reserves": ("未设储备账户", "No reserve account"),
    "triggers": ("信用触发机制", "Triggers"),
    "trigger": ("触发事件", "Trigger"),
    "metric": ("指标", "Metric"),
    "threshold": ("阈值", "Threshold"),
    "side": ("方向", "Fires when"),
    "trigger_tranches": ("所涉证券/账户", "Tranches / account"),
    "consecutive": ("连续期数", "Consecutive periods"),
    "curable": ("可恢复", "Curable"),
    "effect": ("触发后", "What it switches"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "no_triggers": ("未设触发事件", "No triggers"),
    "fees_title": ("税费及费用", "Taxes and fees"),
    "fee": ("费用", "Fee"),
    "fee_base": ("计费基础", "Base"),
    "fee_rate": ("费率（年）", "Rate p.a."),
    "fee_fixed": ("每期固定金额（元）", "Fixed per period (CNY)"),
    "fee_cap": ("每期上限（元）", "Cap per period (CNY)"),
    "payee": ("收取方", "Payee"),
    "vat": ("增值税", "VAT"),
    "carry_forward": ("未付结转", "Unpaid carried"),
    "no_fees": ("未设费用", "No fees"),
    "base_pool_balance": ("资产池期初余额", "pool balance at period start"),
    "base_note_balance": ("证券期初余额", "note balance at period start"),
    "base_original_notes": ("证券初始本金", "original note balance"),
    "vat_included": ("含税", "included"),
    "vat_excluded": ("不含税（另计）", "excluded (charged on top)"),
    "vat_tax": ("即增值税及附加", "is the VAT and surcharges"),
    "waterfall_title": ("现金流支付机制", "Priority of payments"),
    "waterfall_state": ("{state}状态下的支付顺序", "Priority of payments when {state}"),
    "step": ("顺序", "Step"),
    "step_text": ("支付事项", "What is paid"),
    "waterfall_empty": ("不支付任何款项，现金留存于账户", "pays nothing: the cash stays in the accounts"),
    "cleanup_title": ("清仓回购", "Clean-up call"),
    "cleanup_terms": ("资产池余额降至封包日余额的{threshold}时，原始权益人按正常资产余额的{price}回购剩余正常资产；此前已违约资产的回收款仍归专项计划",
                      "when the pool balance falls to {threshold} of its cut-off balance, the originator buys the "
                      "performing assets left at {price} of their balance; recoveries on assets that defaulted before stay with the plan"),
    "no_cleanup": ("未设清仓回购", "No clean-up call"),
    "metric_cumulative_default_ratio": ("累计违约率", "cumulative default ratio"),
    "metric_oc_ratio": ("超额抵押比率", "OC ratio"),
    "metric_interest_coverage": ("利息覆盖倍数", "interest coverage"),
    "metric_debt_service_coverage": ("本息覆盖倍数", "debt-service coverage"),
    "metric_interest_shortfall": ("未付利息", "interest shortfall"),
    "effect_accelerate": ("加速清偿", "accelerated amortisation"),
    "effect_event_of_default": ("违约事件", "event of default"),
    "above": ("高于阈值", "above"),
    "below": ("低于阈值", "below"),
    # support parties and dependence
    "support_parties": ("增信主体", "Support parties"),
    "legal_entity": ("法律主体", "Legal entity"),
    "level": ("层级", "Level"),
    "level_pool": ("资产层面", "pool"),
    "level_deal": ("证券层面", "deal"),
    "party_rating": ("主体评级", "Rating"),
    "rating_agency": ("评级机构", "Rating agency"),
    "same_entity": ("同一主体", "Same entity as"),
    "concentration_note": ("增信集中：{parties}由同一法律主体{entity}提供，该主体违约将同时失去上述增信",
                           "Concentration: {parties} are provided by one legal entity, {entity}; its failure removes all of them at once"),
    "dependence": ("对增信的依赖（去除增信后的表现）", "Dependence on support (the notes with support removed)"),
    "dependence_note": ("去除：该增信方自封包日起不履行任何义务（情景 support_failures）；独立：去除全部增信方",
                        "Removed: the party pays nothing from the cut-off date (the scenario's support_failures); "
                        "stand-alone: every party removed"),
    "case": ("情形", "Case"),
    "case_as_written": ("按交易文件", "as written"),
    "case_standalone": ("独立（去除全部增信）", "stand-alone (all support removed)"),
    "case_without": ("去除 {name}", "without {name}"),
    "case_without_entity": ("去除主体 {name}", "without entity {name}"),
    "whole": ("足额兑付", "Whole"),
    "loss_rate": ("损失率（含未获支付利息）", "Loss rate (incl. interest never paid)"),
    "support_share": ("证券对增信方的依赖：避免的损失与现值", "Dependence on the support: loss avoided and present value"),
    "support_share_note": ("避免的损失 = 去除该增信方后的损失 − 按交易文件的损失（损失 = 本金减记 + 最终未获支付的利息）；来自增信方的现值 = 按交易文件现金流的现值 − 去除后现金流的现值，"
                           "均按该证券按交易文件的内部收益率（年复利，ACT/365F）折现，故按交易文件的现值等于其本金；占比 = 来自增信方的现值 / 按交易文件的现值。"
                           "未折现的现金差额混合了时间与损失（优先级延后偿还可多得利息，差额可为负），不作为依赖程度。"
                           "各为边际贡献：多个增信方覆盖同一款项时，单个去除可能为 0，独立情形显示合计",
                           "Loss avoided = the loss with the party removed − the loss as written (loss = principal "
                           "written down + interest never paid); present value from the support = the present value of "
                           "the cash as written − that of the cash without it, both at the tranche's internal rate of "
                           "return as written (annual compounding, ACT/365F), so the cash as written is worth the "
                           "tranche's balance; share = present value from the support / present value as written. "
                           "Undiscounted cash mixes timing with loss (a senior repaid later earns more interest, so the "
                           "difference can be negative) and is not used. Each is a marginal contribution: when several "
                           "parties back the same dues each alone may show 0, the stand-alone case shows them together"),
    "loss_avoided": ("避免的损失（元）", "Loss avoided (CNY)"),
    "loss_avoided_rate": ("避免的损失率", "Loss avoided (rate)"),
    "pv_from_removed": ("来自增信方的现值（元）", "PV from the support (CNY)"),
    "share_of_value": ("占现值比例", "Share of value"),
    # stress
    "stress_title": ("压力测试", "Stress tests"),
    "pool_stress": ("资产池累计违约率与累计损失率", "Pool cumulative default and loss"),
    "cumulative_defaults": ("累计违约金额（元）", "Cumulative defaults (CNY)"),
    "cumulative_default_rate": ("累计违约率", "Cumulative default rate"),
    "cumulative_loss": ("累计损失（元）", "Cumulative loss (CNY)"),
    "cumulative_loss_rate": ("累计损失率", "Cumulative loss rate"),
    "loss_before_support_amt": ("增信前累计损失（元）", "Loss before support (CNY)"),
    "loss_rate_before_support": ("增信前累计损失率", "Loss rate before support"),
    "support_paid_to_pool": ("资产层面增信支付（元）", "Paid by pool-level support (CNY)"),
    "pool_stress_note": ("自封包日起累计；比率为占封包日资产池余额的比例", "Cumulative since the cut-off date; rates are shares of the pool balance at the cut-off date"),
    "pool_stress_status_note": ("自基准日 {date} 起运行：累计数包含基准日状态中的累计违约、回收与损失，以及其历史记录中资产层面增信已支付的金额；基准日状态不含增信前损失，故该列留空",
                                "Run from the status of {date}: the cumulative figures include the status's cumulative "
                                "defaults, recoveries and losses and what its history says the pool-level support paid; "
                                "a status does not carry the loss before support, so that column is empty"),
    "be_support": ("临界违约率（年化CDR，有无增信）", "Break-even CDR (annual), with and without support"),
    "be_support_note": ("临界违约率（年化CDR）：保持该情景其他假设（回收、早偿、处置周期）不变，从 0 起逐步提高固定年违约率，证券首次未能按时足额兑付（按时付息、到期还本）的水平之前的最高水平（精度 1 个基点）；"
                        "最终无损失口径：首次发生最终损失（本金减记或最终未付利息）之前的最高水平。某一档在更高违约率下可能重新足额（触发事件或增信改变现金流），此时列出全部未足额区间（在 33 点网格上发现并精确到 1 个基点；窄于网格间距的区间可能遗漏）。"
                        "≥ 100%：违约率 100% 时仍足额。情景违约率为与该情景终身违约金额相同的等效固定年违约率（按贷款账龄的曲线、分层或逐笔违约概率时）。倍数 = 临界违约率 / 情景或基准情景（首个情景）违约率；红色：首次未足额水平低于该情景违约率",
                        "Break-even CDR (annual): the scenario's other assumptions (recovery, prepayment, lags) held, "
                        "the highest constant CDR, rising from 0, before the tranche first misses timely payment "
                        "(interest on every payment date, principal by its maturity), to 1 bp; ultimate loss: the "
                        "highest before it first loses anything in the end (principal written down or interest never "
                        "paid). A tranche may be whole again at higher CDRs (a trigger or support changes the cash "
                        "flows): every range in which it fails is then listed (found on a 33-point grid and refined "
                        "to 1 bp; a range narrower than the grid's step can be missed). ≥ 100%: whole even at a 100% "
                        "CDR. The scenario's CDR is the constant CDR with the same lifetime defaults (for a curve by "
                        "loan age, segments or the tape's PDs). Multiples = break-even / the scenario's CDR or the base "
                        "case's (the first scenario); red: the first failure is below the scenario's CDR"),
    "breakeven_cdr": ("临界违约率（年化CDR，按时足额）", "Break-even CDR (timely)"),
    "breakeven_cdr_ultimate": ("临界违约率（年化CDR，最终无损失）", "Break-even CDR (ultimate loss)"),
    "be_fail_ranges": ("未足额区间（年化CDR）", "CDR ranges where it fails"),
    "be_fails_timely": ("按时足额：", "timely: "),
    "be_fails_ultimate": ("最终无损失：", "ultimate: "),
    "be_criteria_differ": ("两口径不同之处仅为延迟支付，最终无损失", "where only timely fails, payment is late but nothing is lost"),
    "scenario_cdr": ("情景等效违约率（年化CDR）", "Scenario CDR (equivalent constant)"),
    "multiple_of_scenario": ("相对情景倍数", "Multiple of scenario"),
    "multiple_of_base": ("相对基准倍数", "Multiple of base"),
    "be_whole_range": ("违约率 100% 时仍足额", "whole even at a 100% CDR"),
    "be_never_whole": ("始终未足额", "never whole"),
    "decrement_title": ("本金余额占比表（{tranche}）", "Decrement table ({tranche})"),
    "decrement_note": ("各兑付日后本金余额占初始本金的比例，基于首个情景在不同早偿/违约速度下的结果",
                       "Balance after each payment date as a share of the original balance, the first scenario at "
                       "each prepayment / default speed"),
    "speed": ("速度", "Speed"),
    "speed_table_title": ("不同速度下的收益率与期限", "Yield, WAL and duration across speeds"),
    "speed_table_note": ("按交易文件的报价（未给出时为面值 100）计算", "At the deal's quoted price (100 if none)"),
    "speeds_title": ("速度定义", "Speeds"),
    # events
    "events_title": ("事件时间表", "Timeline of events"),
    "event": ("事件", "Event"),
    "subject": ("对象", "Subject"),
    "amount": ("金额（元）", "Amount (CNY)"),
    "detail": ("说明", "Detail"),
    "flag": ("违约/异常", "Breach"),
    "events_note": ("红色：兑付晚于预期到期日、利息短缺、本金减记或违约事件", "Red: paid after the expected maturity, interest short, principal written down, or an event of default"),
    "no_events": ("无事件", "No events"),
    "event_state_change": ("项目状态变化", "deal state changes"),
    "event_trigger_fired": ("触发事件触发", "trigger fires"),
    "event_trigger_cured": ("触发事件解除", "trigger cures"),
    "event_support_paid": ("增信方支付", "support pays"),
    "event_paid_after_expected_maturity": ("预期到期日后偿还本金", "principal repaid after expected maturity"),
    "event_interest_shortfall": ("利息短缺", "interest shortfall"),
    "event_writedown": ("本金减记", "principal written down"),
    "event_cleanup_call": ("清仓回购", "clean-up call"),
    "events_col": ("事件", "Events"),
    # summary (说明书 fields)
    "venue": ("交易场所", "Trading venue"),
    "size_yi": ("发行总额（亿元）", "Total size (CNY 100m)"),
    "payment_date_rule": ("兑付日规则", "Payment-date rule"),
    "payment_rule_text": ("自{first}起{freq}兑付，遇{calendar}非工作日{bdc}",
                          "{freq} from {first}; a date that is not a {calendar} business day moves to the {bdc}"),
    "bdc_following": ("顺延至下一工作日", "next business day"),
    "bdc_modified_following": ("顺延至下一工作日（跨月则提前）", "next business day (the one before if that is in the next month)"),
    "bdc_preceding": ("提前至上一工作日", "previous business day"),
    "bdc_unadjusted": ("不调整", "same day (unadjusted)"),
    "rate_type": ("利率类型", "Rate type"),
    "rate_fixed": ("固定利率", "fixed"),
    "rate_floating": ("浮动利率", "floating"),
    "rate_none": ("无（剩余收益）", "none (residual)"),
    "security_code": ("证券代码", "Security code"),
    "risk_factors": ("风险因素", "Risk factors"),
    "no_risk_factors": ("交易文件未列示风险因素", "The deal file states no risk factors"),
    "scenario_descriptions": ("情景说明", "Scenario descriptions"),
    "amounts_wan_note": ("本页金额单位为万元；偿付计划以元列示", "Amounts on this page in CNY 10k (万元); the schedules in CNY"),
    "total_interest_wan": ("利息合计（万元）", "Total interest (CNY 10k)"),
    "total_principal_wan": ("本金合计（万元）", "Total principal (CNY 10k)"),
    "total_residual_wan": ("剩余收益（超额收益）合计（万元）", "Total residual / excess return (CNY 10k)"),
    "loss_wan": ("本金减记（万元）", "Principal write-down (CNY 10k)"),
    "balance_wan": ("初始本金（万元）", "Original balance (CNY 10k)"),
    # collateral fit
    "ip_fit": ("知识产权与证券期限匹配", "IP behind the notes"),
    "ip_right": ("权利", "Right"),
    "ip_type": ("类型", "Type"),
    "ip_count": ("权利数量", "Rights"),
    "expiry_date": ("权利到期日", "Expiry date"),
    "years_after_legal": ("法定到期日后剩余年限", "Years left at legal maturity"),
    "appraised_value": ("评估价值（元）", "Appraised value (CNY)"),
    "valuer": ("评估机构", "Valuer"),
    "exposure": ("依附的剩余应收款（元）", "Receivables resting on it (CNY)"),
    "exposure_loan": ("贷款余额（元）", "Loan balance (CNY)"),
    "exposure_share": ("占比", "Share"),
    "ip_fit_note": ("按依附金额排列的前{n}项；负的剩余年限表示权利在法定到期日前届满", "The {n} largest by exposure; negative years: the right expires before the legal maturity"),
    "ip_fit_expiring": ("法定到期日前届满的权利所依附的应收款占比", "Share of receivables resting on rights that expire before the legal maturity"),
    "valuer_missing": ("资产清单未列示", "not on the tape"),
    "receivables_title": ("剩余应收款与超额覆盖", "Remaining receivables and over-collateralisation"),
    "remaining_receivables": ("剩余应收款（元）", "Remaining receivables (CNY)"),
    "remaining_receivables_wan": ("剩余应收款（万元）", "Remaining receivables (CNY 10k)"),
    "discount_rate": ("折现率", "Discount rate"),
    "present_value": ("现值（元）", "Present value (CNY)"),
    "notes_total": ("证券总额（元）", "Notes (CNY)"),
    "oc_ratio": ("超额覆盖倍数（现值/证券）", "OC (present value / notes)"),
    "receivables_to_notes": ("剩余应收款/证券", "Receivables / notes"),
    "receivables_note": ("许可费、租金等剩余应收款为未来应收总额，并非未偿本金；现值按交易文件给出的折现率计算",
                         "Remaining licence fees or rents are the total of future receivables, not an outstanding "
                         "principal; the present value at the discount rate the deal states"),
    "not_stated": ("未约定", "not stated"),
    # footer
    "generated_by": ("由 abs_engine 生成", "Generated by abs_engine"),
}


#: Built-in translations of words tapes often use (industries, regions); a deal's own
#: ``deal.glossary`` comes first. Text as written -> the other language.
GLOSSARY: dict[str, str] = {
    "unknown": "未知",
    "new-generation IT": "新一代信息技术",
    "new-generation information technology": "新一代信息技术",
    "biomedicine": "生物医药",
    "integrated circuits": "集成电路",
    "artificial intelligence": "人工智能",
    "intelligent manufacturing": "智能制造",
    "smart manufacturing": "智能制造",
    "high-end equipment": "高端装备",
    "new energy": "新能源",
    "new materials": "新材料",
    "energy saving and environmental protection": "节能环保",
    "digital creative": "数字创意",
    "software": "软件",
    "information technology": "信息技术",
    "medical devices": "医疗器械",
    "robotics": "机器人",
    "semiconductor equipment": "半导体设备",
    "aerospace": "航空航天",
    "digital media": "数字媒体",
    "digital publishing": "数字出版",
    "film and TV production and distribution": "影视制作与发行",
    "performing arts": "演艺",
    "energy saving": "节能",
    "new energy vehicles": "新能源汽车",
    "pharmaceuticals": "医药",
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
