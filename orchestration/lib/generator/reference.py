"""Static reference data of the sample plant: products, materials, provinces, carriers,
equipment types with their process windows, header aliases and complaint wording."""

from __future__ import annotations

# (code, model, product_line, name, carries_serials, bom: [(material_code, qty_per_unit)])
PRODUCTS = [
    ("P0003", "QS-100", "智能音箱", "智能音箱 mini", True, [("M1001", 1), ("M1101", 1), ("M1201", 1), ("M1401", 0.12), ("M1501", 0.004), ("M1601", 1)]),
    ("P0007", "QS-300", "智能音箱", "智能音箱 Pro", True, [("M1002", 1), ("M1101", 1), ("M1102", 1), ("M1201", 2), ("M1402", 0.2), ("M1501", 0.006), ("M1601", 1)]),
    ("P0011", "QE-20", "无线耳机", "真无线耳机", True, [("M1002", 1), ("M1102", 1), ("M1301", 1), ("M1201", 1), ("M1402", 0.03), ("M1501", 0.002), ("M1602", 1)]),
    ("P0012", "QE-50", "无线耳机", "降噪耳机", True, [("M1002", 1), ("M1102", 1), ("M1301", 1), ("M1202", 1), ("M1402", 0.05), ("M1501", 0.002), ("M1602", 1)]),
    ("P0015", "QP-10K", "移动电源", "移动电源 10000mAh", False, [("M1001", 1), ("M1302", 2), ("M1201", 2), ("M1401", 0.15), ("M1501", 0.003), ("M1601", 1)]),
    ("P0016", "QP-20K", "移动电源", "移动电源 20000mAh", False, [("M1001", 1), ("M1302", 4), ("M1201", 2), ("M1401", 0.25), ("M1501", 0.003), ("M1601", 1)]),
    ("P0021", "QR-AX3", "路由器", "无线路由器 AX3000", True, [("M1002", 1), ("M1101", 1), ("M1202", 2), ("M1701", 1), ("M1401", 0.3), ("M1501", 0.008), ("M1601", 1), ("M1602", 1)]),
    ("P0024", "QW-S2", "智能手表", "智能手表 S2", True, [("M1002", 1), ("M1101", 1), ("M1301", 1), ("M1701", 1), ("M1402", 0.04), ("M1501", 0.002), ("M1602", 1)]),
    ("P0031", "QA-P5", "空气净化器", "空气净化器 P5", False, [("M1001", 1), ("M1101", 1), ("M1202", 1), ("M1401", 1.8), ("M1501", 0.005), ("M1601", 1)]),
    ("P0033", "QT-B1", "电动牙刷", "声波电动牙刷", False, [("M1001", 1), ("M1301", 1), ("M1402", 0.06), ("M1501", 0.002), ("M1601", 1)]),
]

# (code, name, category, base_unit, critical, mass?)
MATERIALS = [
    ("M1001", "PCB板 A型", "PCB", "pcs", True), ("M1002", "PCB板 B型", "PCB", "pcs", True),
    ("M1101", "主控芯片", "芯片", "pcs", True), ("M1102", "蓝牙模块", "芯片", "pcs", True),
    ("M1201", "Type-C连接器", "连接器", "pcs", True), ("M1202", "排线连接器", "连接器", "pcs", True),
    ("M1301", "锂电池 500mAh", "电池", "pcs", True), ("M1302", "锂电池 5000mAh", "电池", "pcs", True),
    ("M1401", "ABS树脂", "塑料粒子", "kg", False), ("M1402", "PC树脂", "塑料粒子", "kg", False),
    ("M1501", "无铅锡膏", "辅料", "kg", True), ("M1601", "包装彩盒", "包材", "pcs", False),
    ("M1602", "说明书", "包材", "pcs", False), ("M1701", "显示屏", "显示", "pcs", True),
]
MASS_MATERIALS = {"M1401", "M1402", "M1501"}

SUPPLIERS = [
    ("S0003", "深圳华强电路有限公司", "广东"), ("S0005", "东莞精密电子有限公司", "广东"),
    ("S0008", "苏州芯源微电子有限公司", "江苏"), ("S0011", "上海联讯科技有限公司", "上海"),
    ("S0012", "宁德新能电池有限公司", "福建"), ("S0014", "惠州亿能电池有限公司", "广东"),
    ("S0017", "宁波塑化材料有限公司", "浙江"), ("S0019", "昆山焊材科技有限公司", "江苏"),
    ("S0022", "温州连接器制造有限公司", "浙江"), ("S0025", "厦门彩印包装有限公司", "福建"),
    ("S0027", "京东方显示科技有限公司", "北京"), ("S0030", "成都川电器件有限公司", "四川"),
]
# material -> suppliers (ordered)
MATERIAL_SUPPLIERS = {
    "M1001": ["S0003", "S0005"], "M1002": ["S0003", "S0005"], "M1101": ["S0008", "S0011"],
    "M1102": ["S0011", "S0008"], "M1201": ["S0022", "S0030"], "M1202": ["S0022", "S0005"],
    "M1301": ["S0012", "S0014"], "M1302": ["S0014", "S0012"], "M1401": ["S0017"],
    "M1402": ["S0017"], "M1501": ["S0019"], "M1601": ["S0025"], "M1602": ["S0025"],
    "M1701": ["S0027", "S0011"],
}

# (name, short, pinyin, abbr, region)
PROVINCES = [
    ("北京市", "北京", "Beijing", "BJ", "华北"), ("天津市", "天津", "Tianjin", "TJ", "华北"),
    ("河北省", "河北", "Hebei", "HE", "华北"), ("山西省", "山西", "Shanxi", "SX", "华北"),
    ("内蒙古自治区", "内蒙古", "Inner Mongolia", "NM", "华北"), ("辽宁省", "辽宁", "Liaoning", "LN", "东北"),
    ("吉林省", "吉林", "Jilin", "JL", "东北"), ("黑龙江省", "黑龙江", "Heilongjiang", "HL", "东北"),
    ("上海市", "上海", "Shanghai", "SH", "华东"), ("江苏省", "江苏", "Jiangsu", "JS", "华东"),
    ("浙江省", "浙江", "Zhejiang", "ZJ", "华东"), ("安徽省", "安徽", "Anhui", "AH", "华东"),
    ("福建省", "福建", "Fujian", "FJ", "华东"), ("江西省", "江西", "Jiangxi", "JX", "华东"),
    ("山东省", "山东", "Shandong", "SD", "华东"), ("河南省", "河南", "Henan", "HA", "华中"),
    ("湖北省", "湖北", "Hubei", "HB", "华中"), ("湖南省", "湖南", "Hunan", "HN", "华中"),
    ("广东省", "广东", "Guangdong", "GD", "华南"), ("广西壮族自治区", "广西", "Guangxi", "GX", "华南"),
    ("海南省", "海南", "Hainan", "HI", "华南"), ("重庆市", "重庆", "Chongqing", "CQ", "西南"),
    ("四川省", "四川", "Sichuan", "SC", "西南"), ("贵州省", "贵州", "Guizhou", "GZ", "西南"),
    ("云南省", "云南", "Yunnan", "YN", "西南"), ("西藏自治区", "西藏", "Tibet", "XZ", "西南"),
    ("陕西省", "陕西", "Shaanxi", "SN", "西北"), ("甘肃省", "甘肃", "Gansu", "GS", "西北"),
    ("青海省", "青海", "Qinghai", "QH", "西北"), ("宁夏回族自治区", "宁夏", "Ningxia", "NX", "西北"),
    ("新疆维吾尔自治区", "新疆", "Xinjiang", "XJ", "西北"),
]
# relative weight of customers per province (population-ish)
PROVINCE_WEIGHT = {"广东省": 10, "江苏省": 7, "浙江省": 7, "山东省": 6, "上海市": 5, "北京市": 5,
                   "四川省": 6, "河南省": 5, "湖北省": 4, "湖南省": 4, "福建省": 4, "重庆市": 4,
                   "云南省": 3, "贵州省": 3}

CARRIERS = ["顺丰速运", "京东物流", "中通快递", "德邦物流", "圆通速递", "韵达快递"]

# equipment type: (prefix, zh, en, [(parameter, target, lsl, usl, canonical unit)])
EQUIPMENT_TYPES = {
    "smt_placer": ("SMT", "贴片机", "SMT placer", [("pressure", 500.0, 440.0, 560.0, "kPa"), ("humidity", 45.0, 30.0, 60.0, "%RH")]),
    "reflow_oven": ("RFL", "回流焊", "reflow oven", [("temperature", 245.0, 235.0, 255.0, "℃"), ("speed", 15.0, 12.0, 18.0, "mm/s")]),
    "wave_solder": ("WAV", "波峰焊", "wave solder", [("temperature", 255.0, 248.0, 262.0, "℃"), ("speed", 20.0, 15.0, 25.0, "mm/s")]),
    "injection_moulder": ("INJ", "注塑机", "injection moulder", [("temperature", 220.0, 205.0, 235.0, "℃"), ("pressure", 80000.0, 72000.0, 88000.0, "kPa")]),
    "test_bench": ("TST", "测试台", "test bench", [("temperature", 25.0, 18.0, 32.0, "℃"), ("humidity", 50.0, 35.0, 65.0, "%RH")]),
}
# machines per line, in order
LINE_LAYOUT = ["smt_placer", "smt_placer", "smt_placer", "reflow_oven", "wave_solder",
               "injection_moulder", "test_bench", "test_bench"]

PARAMETER_ZH = {"temperature": "温度", "pressure": "压力", "speed": "速度", "humidity": "湿度"}

# Chinese header aliases as written in EXPORTS.md (columns without one stay English)
ZH = {
    "product_code": "产品编码", "model": "型号", "product_line": "产品线", "product_name": "产品名称",
    "launch_date": "上市日期", "supplier_code": "供应商编码", "supplier_name": "供应商名称",
    "province": "省份", "qualified": "是否合格供方", "material_code": "物料编码",
    "material_name": "物料名称", "category": "物料类别", "base_unit": "基本单位", "critical": "关键件",
    "receipt_no": "入库单号", "line_no": "行号", "supplier_lot": "供应商批号", "material_lot": "物料批次",
    "qty": "数量", "unit": "单位", "received_at": "入库时间", "work_order_no": "工单号",
    "batch_no": "批次号", "planned_qty": "计划数量", "line": "产线", "plan_start": "计划开工",
    "plan_end": "计划完工", "shipment_no": "发货单号", "sales_order_no": "销售订单号",
    "customer_code": "客户编码", "shipped_at": "发货时间", "carrier": "承运商", "promised_date": "承诺交期",
    "delivered_at": "签收时间", "batch": "批次", "shift": "班次", "operator_id": "操作员",
    "start_time": "开始时间", "end_time": "结束时间", "qty_produced": "产出数量", "qty_good": "良品数量",
    "equipment_id": "设备编号", "equipment_name": "设备名称", "equipment_type": "设备类型",
    "ts": "采集时间", "parameter": "参数", "value": "数值", "serial_no": "序列号", "produced_at": "生产时间",
    "target": "目标值", "lsl": "下限", "usl": "上限", "inspection_id": "检验单号",
    "inspection_type": "检验类型", "lot_ref": "批次/批号", "sample_size": "抽样数", "defects_found": "不良数",
    "result": "判定", "defect_code": "缺陷代码", "inspected_at": "检验时间", "inspector": "检验员",
    "characteristic": "检验项目", "sample_no": "样本号", "capa_no": "CAPA编号", "complaint_id": "客诉单号",
    "batch_ref": "批次", "root_cause": "根本原因", "action": "纠正措施", "status": "状态",
    "channel": "渠道", "customer_name": "客户姓名", "customer_phone": "联系电话",
    "product_model": "产品型号", "description": "问题描述", "severity": "严重程度", "updated_at": "更新时间",
    "closed_at": "关闭时间",
}
# per-entity overrides where the same name has another alias in that entity
ZH_ENTITY = {("crm", "complaints"): {"province": "省份", "batch_no": "批号", "received_at": "受理时间"},
             ("erp", "shipments"): {"province": "收货省份"},
             ("mes", "production_batches"): {"batch": "批次"}}

COLUMNS = {
    ("erp", "products"): ["product_code", "model", "product_line", "product_name", "launch_date"],
    ("erp", "suppliers"): ["supplier_code", "supplier_name", "province", "qualified"],
    ("erp", "materials"): ["material_code", "material_name", "category", "base_unit", "critical"],
    ("erp", "purchase_receipts"): ["receipt_no", "line_no", "material_code", "supplier_code", "supplier_lot",
                                   "material_lot", "qty", "unit", "received_at"],
    ("erp", "work_orders"): ["work_order_no", "product_code", "batch_no", "planned_qty", "line", "plan_start", "plan_end"],
    ("erp", "shipments"): ["shipment_no", "line_no", "sales_order_no", "customer_code", "province", "product_code",
                           "batch_no", "qty", "unit", "shipped_at", "carrier", "promised_date", "delivered_at"],
    ("mes", "production_batches"): ["batch", "work_order_no", "product_code", "line", "shift", "operator_id",
                                    "start_time", "end_time", "qty_produced", "qty_good"],
    ("mes", "equipment"): ["equipment_id", "equipment_name", "equipment_type", "line"],
    ("mes", "material_consumption"): ["batch", "material_code", "material_lot", "qty", "unit"],
    ("mes", "process_readings"): ["equipment_id", "ts", "parameter", "value", "unit"],
    ("mes", "serials"): ["serial_no", "batch", "produced_at"],
    ("mes", "process_specs"): ["equipment_type", "equipment_id", "parameter", "target", "lsl", "usl", "unit"],
    ("qms", "inspections"): ["inspection_id", "inspection_type", "lot_ref", "sample_size", "defects_found",
                             "result", "defect_code", "inspected_at", "inspector"],
    ("qms", "measurements"): ["inspection_id", "characteristic", "sample_no", "value", "unit", "lsl", "usl"],
    ("qms", "capa"): ["capa_no", "complaint_id", "batch_ref", "root_cause", "action", "opened_at", "closed_at", "status"],
    ("crm", "complaints"): ["complaint_id", "channel", "received_at", "customer_name", "customer_phone", "province",
                            "product_model", "serial_no", "batch_no", "description", "severity", "status",
                            "updated_at", "closed_at"],
}
REQUIRED = {
    ("crm", "complaints"): ["complaint_id", "channel", "received_at", "description", "status"],
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玲文斌浩宇欣怡子轩梓涵晨阳佳琪俊杰"

# problem type -> base share of complaints (sums to ~1 with UNCLASSIFIED)
PROBLEM_BASE_SHARE = {
    "QD01": 0.05, "QD02": 0.10, "QD03": 0.08, "QD04": 0.04, "QD05": 0.06, "QD06": 0.03, "QD07": 0.02,
    "QD08": 0.04, "QD09": 0.04, "QD10": 0.06, "DL01": 0.09, "DL02": 0.04, "DL03": 0.05,
    "FN01": 0.06, "FN02": 0.04, "FN03": 0.06, "FN04": 0.04, "SF01": 0.004, "SF02": 0.003,
    "SF03": 0.004, "SF04": 0.004, "SF05": 0.005, "UNCLASSIFIED": 0.026,
}

# problem type -> description fragments ({m} = model)
DESCRIPTIONS = {
    "QD01": ["收到货外壳有明显划痕，外观不良", "机身表面划痕很多，像二手的", "屏幕边框有划痕",
             "Scratch on the housing right out of the box", "appearance defect: deep scratches on the front panel"],
    "QD02": ["{m}充满电后不开机", "按电源键无法启动，指示灯不亮", "用了一周突然不开机了",
             "The unit will not start at all", "no power, the {m} won't turn on"],
    "QD03": ["信号不稳定，经常断线", "连接后信号不稳定，时有时无", "Signal unstable, keeps dropping out",
             "wifi signal drops out every few minutes"],
    "QD04": ["使用半小时机身发热严重", "充电时过热，烫手", "机器发热很厉害，担心有问题",
             "The {m} gets very hot after 20 minutes, overheating", "overheating during normal use"],
    "QD05": ["工作时有异响", "开机后有很大的噪音，吱吱响", "Abnormal noise from inside the unit",
             "loud buzzing noise when running"],
    "QD06": ["底部漏水，桌面都湿了", "发现漏液，电池附近有液体", "Leakage at the bottom of the unit",
             "it is leaking liquid"],
    "QD07": ["制冷异常，吹出来不凉", "制冷效果很差", "Cooling failure, no cold air", "the cooling stopped working"],
    "QD08": ["充电口接触不良，要按着才能充", "连接器松动，接触不良", "插头接触不良时断时续",
             "Connector is loose, charging port contact failure", "bad contact at the connector, charging cuts in and out"],
    "QD09": ["电池鼓包，后盖被顶起来了", "续航很短，充满电只能用一小时", "电池问题：鼓包",
             "Battery swelling, the case is bulging", "battery life is terrible, short life after a week"],
    "QD10": ["外壳开裂", "支架断裂了", "轻轻一碰就破损开裂", "The housing has a crack", "stand broke, breakage at the hinge"],
    "DL01": ["快递延迟送达，比承诺晚了好几天", "说好三天到，一周才送到，延迟送达", "Late delivery, arrived a week late",
             "delivery was late by 4 days"],
    "DL02": ["收到时包装破损，箱子压坏了", "外箱包装破损严重", "Damaged package, the box was crushed",
             "package arrived damaged and torn"],
    "DL03": ["少件，配件没有发", "错发了型号，我买的不是这个", "漏发充电线", "Wrong item received",
             "missing item: no charger in the box"],
    "FN01": ["与宣传不符，功率根本达不到", "实际参数与规格不符", "Not as advertised, features differ from the page",
             "not as specified in the manual"],
    "FN02": ["说明书上的功能缺失，没有定时功能", "功能缺失，找不到语音控制", "Missing feature: no timer mode",
             "the app control feature is missing"],
    "FN03": ["和手机不兼容，无法连接", "蓝牙无法连接电脑", "Incompatible with my phone, cannot connect",
             "cannot connect to the router app"],
    "FN04": ["固件升级后死机，软件故障", "系统一直重启，固件故障", "APP提示固件错误", "Firmware fault after the update",
             "software crashes and the {m} keeps rebooting, firmware bug"],
    "SF01": ["充电时冒烟，差点起火", "机器冒烟了，有烧焦痕迹", "Smoke came out while charging, almost caught fire"],
    "SF02": ["摸到金属外壳有漏电，手被电了一下", "漏电，触电的感觉", "Electric shock when touching the case"],
    "SF03": ["边缘锋利把手割伤了", "使用时受伤，手指割伤", "Sharp edge, my child got an injury (cut)"],
    "SF04": ["外壳太烫把手烫伤了", "孩子被烫伤", "Got a burn from the hot surface"],
    "SF05": ["打开包装有刺鼻气味", "使用时有刺鼻的塑料味", "Strong chemical smell when in use"],
    "UNCLASSIFIED": ["产品有问题，请尽快联系我", "不满意，要求退货", "请回电", "Please call me back",
                     "not happy with it", "客户来电咨询"],
}
