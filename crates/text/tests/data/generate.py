#!/usr/bin/env python3
"""Writes the labelled detector test set (messages.jsonl) — written by the TrustLedger project.

Every core sentence below was written by hand for this project (realistic WeChat / shop messages,
not copied from any corpus) and labelled by hand. Messages are composed from a core sentence plus
optional greetings, fillers, emoji and English tags that carry no label; about a quarter are
converted to traditional Chinese (ferrous-opencc s2tw via `cargo run --example s2t`) and some are
turned full-width. Labels of a message = labels of its core (fillers are label-free by design).

Fields: text, source class, complaint, not_as_described, sales_pressure, quota_plea, question,
intent (care|value|promotion|service|quota_plea, or null when the message is not a seller's
outgoing message and intent is not evaluated).

Usage: python3 tests/data/generate.py   (from crates/text; needs the s2t example built)
"""
import json
import random
import subprocess
import os

HERE = os.path.dirname(os.path.abspath(__file__))
S2T = os.environ.get("S2T", "/work/target-text/release/examples/s2t")

# flags: c = complaint, n = not as described, p = sales pressure, q = quota plea, ? = question
COMPLAINT = [  # customer complaints that are not "not as described"
    ("质量太差了，穿了一次就开线", "c"),
    ("买的杯子收到就是碎的，怎么处理", "c?"),
    ("等了一个星期还没发货，到底什么情况", "c?"),
    ("客服一直不回消息，太气人了", "c"),
    ("用了两天就坏了，我要退款", "c"),
    ("面膜用完脸上过敏了，红了一大片", "c"),
    ("包装破损，里面的东西都漏出来了", "c"),
    ("说好的48小时发货呢？都第五天了", "c?"),
    ("这个充电器根本用不了，插上没反应", "c"),
    ("衣服有一股很重的异味，洗了两遍还在", "c"),
    ("太失望了，再也不会在你家买了", "c"),
    ("申请退款三天了没人处理", "c"),
    ("零食收到已经过期了，你们怎么卖过期的东西", "c"),
    ("给你们差评了，服务态度太差", "c"),
    ("我要投诉你们的快递员，东西直接扔门口", "c"),
    ("上次说会补发赠品，到现在也没兑现", "c"),
    ("做工粗糙，线头到处都是", "c"),
    ("鞋子穿了一周就脱胶了", "c"),
    ("你们这就是骗人，钱付了东西一直不发", "c"),
    ("口红断了，盒子也压坏了", "c"),
    ("水果一半都烂了，没法吃", "c"),
    ("我要退货，这个质量真的不行", "c"),
    ("售后不管，打电话也没人接", "c"),
    ("已读不回是什么意思？", "c?"),
    ("买了后悔死了，洗一次就起球", "c"),
    ("奶粉罐子被压扁了，还能喝吗", "c?"),
    ("手机壳裂了一道口子，刚收到的", "c"),
    ("衣服掉色严重，把别的衣服都染了", "c"),
    ("我催了好几次了，能不能快点发货", "c?"),
    ("耳机左边没声音，有瑕疵", "c"),
    ("The blender arrived broken and nobody replies to my emails", "c"),
    ("Terrible quality, the zipper broke on day one. I want a refund", "c"),
    ("Still not received after two weeks, this is a scam", "c"),
    ("very disappointed, the screen is defective", "c"),
    ("东西坏了，refund please", "c"),
    ("这什么破质量，差评", "c"),
    ("茶叶受潮发霉了，怎么喝", "c?"),
    ("充了一晚上电还是开不了机，坑人", "c"),
    ("你们家的快递太慢了，还不理人", "c"),
    ("护肤品用了烂脸，要求退钱", "c"),
]
NAD = [  # not as described (also complaints)
    ("收到的货和图片完全不一样，货不对版", "cn"),
    ("与描述不符，说是纯棉的结果是化纤", "cn"),
    ("颜色跟图片差太多了，色差也太大了吧", "cn"),
    ("发错货了，我买的是黑色发来白色", "cn"),
    ("这明显是假货，logo都是歪的", "cn"),
    ("说是正品，结果是高仿", "cn"),
    ("尺码不对，标的L实际像S", "cn"),
    ("实物和图片差别太大了，买家秀和卖家秀", "cn"),
    ("宣传的是实木，拿到手是颗粒板，虚假宣传", "cn"),
    ("少发了一件，订单里是两件只收到一件", "cn"),
    ("这不是我买的那款啊，型号不对", "cn"),
    ("说好的一斤装，称了只有八两，缺斤少两", "cn"),
    ("货不对版还不给退，你们怎么做生意的", "cn"),
    ("图片上是大果，收到的都是小果，以次充好", "cn"),
    ("这个包是不是假的？跟专柜的完全不一样", "cn?"),
    ("跟描述不一样，描述写的防水，一碰水就湿透", "cn"),
    ("规格不对，我要的是256G发来128G", "cn"),
    ("颜色不对，我选的是雾霾蓝", "cn"),
    ("跟照片不一样，照片上有刺绣，实物没有", "cn"),
    ("名不副实，所谓的进口其实是国产", "cn"),
    ("漏发了充电线，盒子里没有", "cn"),
    ("发的不是我买的，我买的是大号", "cn"),
    ("和描述不一致，电池容量根本没那么大", "cn"),
    ("这是山寨货吧，做工和正品差远了", "cn"),
    ("你们这是以次充好，跟上次买的不是一个东西", "cn"),
    ("Item not as described, the color is completely different", "cn"),
    ("This is a counterfeit, not the real brand", "cn"),
    ("wrong item sent, I ordered the blue one", "cn"),
    ("received the wrong size, not as pictured", "cn"),
    ("货不对版!!! 退款!!!", "cn"),
    ("图片是新款，发来的是旧款，货不对", "cn"),
    ("和图片不一样，图片上明明是两层", "cn"),
    ("这是仿品吧，跟你发的视频不一样", "cn"),
    ("材质和描述不符，一摸就知道是塑料", "cn"),
    ("夸大宣传，说能用一年，一个月就没了", "cn"),
    ("颜色不对版，实物发黄", "cn"),
    ("发错了，这是别人的快递吧", "cn"),
    ("不是正品，扫码查不到", "cn"),
    ("这根本不是我要的，型号不对", "cn"),
    ("这也太假了，是假货吧", "cn"),
]
PRESSURE = [  # seller urgency / scarcity / hard selling (intent promotion)
    ("最后一天！今晚12点恢复原价，赶紧下单", "p"),
    ("限时特价只剩最后3件，手慢无", "p"),
    ("库存紧张，先到先得，错过再等一年", "p"),
    ("秒杀马上开始，大家准备好", "p"),
    ("这个价格仅限今天，明天涨价", "p"),
    ("别犹豫了，现在下单立减50", "p"),
    ("名额有限，抓紧时间报名", "p"),
    ("活动倒计时2小时，还没下单的抓紧", "p"),
    ("过了今天就恢复原价了，还在犹豫什么", "p?"),
    ("最后机会！最后几个名额", "p"),
    ("限量100套，卖完就没了", "p"),
    ("今晚截止，错过就没了", "p"),
    ("赶紧抢，库存只剩20件", "p"),
    ("限时优惠，买二送一，今天结束", "p"),
    ("马上涨价了，想要的赶快下单", "p"),
    ("不要犹豫了，这个价格真的是最后一次", "p"),
    ("只剩最后两箱了，要的速速下单", "p"),
    ("立即下单享受早鸟价，明天就没有了", "p"),
    ("再不买就没有了，姐妹们冲", "p"),
    ("清仓价，只限今天，数量有限", "p"),
    ("Flash sale! Last chance to get 50% off, order now", "p"),
    ("Today only: buy one get one free, hurry", "p"),
    ("limited time offer, while stocks last", "p"),
    ("last day of the sale, don't miss it", "p"),
    ("跳楼价清仓，先到先得", "p"),
    ("抢购开始了，手慢无哦", "p"),
    ("就剩几件了，要的马上下单", "p"),
    ("这批货库存紧张，今天不定明天就没了", "p"),
    ("最后一天特价，亏本甩卖", "p"),
    ("即将涨价，现在下单最划算", "p"),
    ("限时抢购中，点链接立刻下单", "p"),
    ("倒计时3小时！今晚截止！", "p"),
    ("仅剩5单名额，先到先得", "p"),
    ("错过这次再等一年，抓紧下单", "p"),
    ("限时秒杀，9块9包邮，快来抢", "p"),
    ("今天必须下单才有这个价", "p"),
    ("不买就亏了，最后一天", "p"),
    ("直播间限时特价，只剩最后10分钟", "p"),
    ("马上恢复原价，需要的赶紧下单", "p"),
    ("Act now, only 3 left in stock", "p"),
]
QUOTA = [  # quota pleas (intent quota_plea); some also carry pressure
    ("还差几单就完成任务了，支持一下", "q"),
    ("这个月业绩还没完成，帮我冲一下吧", "q"),
    ("还差最后一单，求支持🙏", "q"),
    ("亲们帮帮忙，还差两单就完成指标了", "q"),
    ("今天冲业绩，随便买点支持一下呗", "q"),
    ("求开单，今天还没开张", "q"),
    ("拜托大家捧个场，这周考核还差三单", "q"),
    ("帮我完成一下任务吧，随便拍一单就行", "q"),
    ("月底冲销量，支持下你的小店主", "q"),
    ("就差一单就能拿奖励了，帮个忙下一单", "q"),
    ("老板说今天的任务完不成要扣钱，大家支持支持", "q"),
    ("冲业绩中，有需要的照顾一下生意", "q"),
    ("业绩没完成，心里好慌，求捧场", "q"),
    ("年底冲一把，拜托各位帮冲一下", "q"),
    ("这个月的任务还差好多，能帮我拍一单吗", "q?"),
    ("今天冲单，有没有姐妹帮我一下", "q?"),
    ("还差一单就完成kpi了，求支持", "q"),
    ("帮我冲个业绩吧，最后一天了", "qp"),
    ("就差几单了，今晚12点截止，帮帮忙", "qp"),
    ("拉一把，还差两单，随便买点什么都行", "q"),
    ("Please support my business, I just need a few more orders to hit my target", "q"),
    ("help me reach my target this month, one more order!", "q"),
    ("I'm so close to my quota, support me by buying one", "q"),
    ("开个单吧亲，今天还一单没出", "q"),
    ("赏个单吧，完成任务就能下班了", "q"),
    ("差一单就达标了，帮忙完成一下", "q"),
    ("冲量中，买一单支持一下我吧", "q"),
    ("今天的任务还差5单，大家随便拍一单", "q"),
    ("帮忙完成业绩，下单立减10元", "q"),
    ("公司考核，这个月差几单，支持一下可以吗", "q?"),
    ("还差三单就完成任务了，明天就截止了", "qp"),
    ("完成业绩就能转正了，拜托了大家买一单", "q"),
    ("冲一下业绩，有需要的可以下单", "q"),
    ("还差一单，求求了", "q"),
    ("支持一下新开的小店吧，随便买点", "q"),
    ("就差几单，帮我完成吧，谢谢大家", "q"),
    ("今天冲业绩，给我捧个场下个单", "q"),
    ("我的销售任务还没完成，求支持", "q"),
    ("这周还差几单，谁帮我冲一下", "q?"),
    ("月底了业绩不够，支持一下呗", "q"),
]
QUESTION = [  # customer questions (no intent evaluated)
    ("请问什么时候发货", "?"),
    ("这个适合敏感肌吗", "?"),
    ("快递到哪了？", "?"),
    ("有没有大一码的", "?"),
    ("这款和上次那款有什么区别", "?"),
    ("能不能便宜一点", "?"),
    ("怎么退货", "?"),
    ("几天能到上海", "?"),
    ("可以开发票吗", "?"),
    ("是不是正品", "?"),
    ("孕妇能用吗", "?"),
    ("这个怎么用啊", "?"),
    ("多少钱一盒", "?"),
    ("哪个颜色比较显白", "?"),
    ("还有货吗", "?"),
    ("收到了没有呀", "?"),
    ("保质期多久", "?"),
    ("你们周末发货吗", "?"),
    ("为什么我的订单显示已取消", "?"),
    ("会不会起球", "?"),
    ("能发顺丰吗", "?"),
    ("尺码偏大还是偏小", "?"),
    ("我这个身高穿哪个码合适", "?"),
    ("是否支持七天无理由退货", "?"),
    ("Where is my order?", "?"),
    ("Can you ship to Hong Kong", "?"),
    ("How long does delivery take", "?"),
    ("is it waterproof?", "?"),
    ("Do you have this in black", "?"),
    ("这个price能再少点吗", "?"),
    ("啥时候补货", "?"),
    ("咋还没到", "?"),
    ("送人的话有礼盒包装吗", "?"),
    ("要不要配个收纳袋", "?"),
    ("洗了会缩水吗", "?"),
    ("可不可以先寄样品", "?"),
    ("发的什么快递", "?"),
    ("这个要怎么保存", "?"),
    ("好用吗", "?"),
    ("下单了能改地址吗", "?"),
]
CARE = [
    ("天冷了，记得多穿点，别感冒了", ""),
    ("生日快乐！祝你新的一岁一切顺利", ""),
    ("最近还好吗？好久没聊了", "?"),
    ("听说你感冒了，好点了吗", "?"),
    ("下雨了，出门记得带伞", ""),
    ("周末愉快，好好休息一下", ""),
    ("孩子考试顺利吗？", "?"),
    ("中秋快乐，祝你和家人团团圆圆", ""),
    ("别熬夜了，早点休息", ""),
    ("工作辛苦了，注意身体", ""),
    ("降温了，给宝宝多加件衣服", ""),
    ("新年快乐，感谢一直以来的信任", ""),
    ("路上小心，到了说一声", ""),
    ("看你朋友圈说搬家了，恭喜恭喜", ""),
    ("最近天气干燥，多喝水", ""),
    ("母亲节快乐，阿姨身体还好吧", ""),
    ("早安，今天也要开开心心的", ""),
    ("上次你说腰不舒服，现在好些了吗", "?"),
    ("祝你工作顺利，心想事成", ""),
    ("注意保暖，这几天降温厉害", ""),
    ("Happy birthday! Hope you have a lovely day", ""),
    ("Take care and get well soon", ""),
    ("Hope you are well, it's been a while", ""),
    ("宝宝满月了吧？恭喜呀", "?"),
    ("晚安，好梦", ""),
    ("端午安康，记得吃粽子", ""),
    ("外面很热，出门注意防晒", ""),
    ("加油，考研一定没问题的", ""),
    ("知道你最近忙，别太累了", ""),
    ("元旦快乐，新的一年一起加油", ""),
    ("谢谢你一直以来的支持，真的很感动", ""),
    ("听说你升职了，恭喜", ""),
    ("台风来了，注意安全", ""),
    ("春节快乐，祝全家身体健康", ""),
    ("祝您和家人节日快乐", ""),
    ("身体好些了吗，多休息", "?"),
    ("好久不见，想你了", ""),
    ("一路平安，到了报个平安", ""),
    ("心情不好可以找我聊聊", ""),
    ("周末快乐，陪陪家人", ""),
]
VALUE = [
    ("分享一个挑牛油果的小技巧：按一下微软就是熟了", ""),
    ("干货：羊毛衫洗涤的三个注意事项", ""),
    ("护肤误区：不是越贵越好，适合自己最重要", ""),
    ("整理了一份新手宝妈待产清单，需要的收藏", ""),
    ("科普一下：真丝和仿真丝怎么区分，用火烧一根线就知道", ""),
    ("教大家一个保存草莓的方法，不洗直接放冰箱", ""),
    ("冷知识：蜂蜜结晶不代表掺假", ""),
    ("分享一下我自己用了三年的心得，敏感肌先做局部测试", ""),
    ("划重点：防晒霜要提前20分钟涂", ""),
    ("茶叶的保存方法：密封、避光、防潮", ""),
    ("教程来了，三步搞定电脑清灰", ""),
    ("整理了Word快捷键大全，建议收藏", ""),
    ("小窍门：白衬衫发黄用小苏打泡一泡", ""),
    ("经验分享：选床垫要看支撑性不要只看软硬", ""),
    ("研究表明，睡前一小时不看手机睡眠质量更好", ""),
    ("建议大家买羽绒服看充绒量和含绒量", ""),
    ("如何挑选西瓜：拍一拍，声音清脆的比较熟", ""),
    ("鉴别珍珠真假的方法：两颗互相摩擦有砂感的是真的", ""),
    ("给大家总结了宝宝辅食添加的步骤", ""),
    ("皮鞋保养的小知识：定期上油，放鞋撑", ""),
    ("Quick tip: store coffee beans in an airtight container away from light", ""),
    ("Here's a short guide on how to pick the right running shoes", ""),
    ("A checklist for your first camping trip", ""),
    ("原理其实很简单，酸碱中和", ""),
    ("搭配建议：深色裤子配浅色上衣更显瘦", ""),
    ("铸铁锅的护理：用完擦干抹一层油", ""),
    ("分享一篇关于儿童近视预防的文章", ""),
    ("攻略：去大理玩的路线和注意事项", ""),
    ("手机发烫的原因是后台太多，关掉就好", ""),
    ("新手养多肉的误区：浇水太多", ""),
    ("咖啡渣可以除冰箱异味，试试看", ""),
    ("总结了几个省电的小技巧", ""),
    ("洗碗机的正确用法，很多人都用错了", ""),
    ("案例分享：一位客户用这个方法改善了睡眠", ""),
    ("怎么挑选适合自己的粉底？先看肤质", "?"),
    ("玻璃杯去茶垢的小窍门：盐加柠檬", ""),
    ("辨别好米的方法：看、闻、尝", ""),
    ("教你三招快速剥石榴", ""),
    ("这些食物不能一起吃，注意事项收藏起来", ""),
    ("羽绒服的保养方法，别再机洗了", ""),
]
PROMOTION = [  # selling without urgency
    ("新品上架，秋冬款羊毛大衣到货了", ""),
    ("今天上新了几款连衣裙，喜欢的私我", ""),
    ("全场满199减30，欢迎选购", ""),
    ("这款面霜现在活动价129，包邮", ""),
    ("买一送一，欢迎下单", ""),
    ("会员价再打九折", ""),
    ("新到一批云南蓝莓，现货", ""),
    ("直播间今晚8点，福利多多", ""),
    ("领券下单更优惠，链接在这里", ""),
    ("第二件半价，适合囤货", ""),
    ("团购价68一箱，需要的联系我", ""),
    ("春季新款已上架，了解一下", ""),
    ("拼团价更便宜，三人成团", ""),
    ("特价处理一批样品，需要的来看看", ""),
    ("新款到货，扫码进店选购", ""),
    ("这款是我们的爆款，回购率很高，欢迎订购", ""),
    ("预售开始了，定金50抵100", ""),
    ("New arrivals are in, free shipping on all orders", ""),
    ("20% off everything this weekend, use the coupon code", ""),
    ("Our new spring collection is here, check it out", ""),
    ("优惠券已发放到账户，购买时自动抵扣", ""),
    ("这款原价299，现在199", ""),
    ("福利来了，关注店铺送小样", ""),
    ("打折季，全场五折起", ""),
    ("促销活动进行中，欢迎进店", ""),
    ("新品试用装免费领，下单即送", ""),
    ("推荐一款好用的保温杯，价格很实惠", ""),
    ("我们家的土鸡蛋，30枚一箱，包邮到家", ""),
    ("茶叶新货到了，明前龙井，欢迎品尝购买", ""),
    ("今天的特价菜：排骨19.9一斤", ""),
    ("店庆折扣，满300送50", ""),
    ("预订年货礼盒，送人有面子", ""),
    ("现货秒发，想要的私聊我", ""),
    ("新款手机壳上架，多种颜色可选", ""),
    ("批发价拿货，量大从优", ""),
    ("周年庆活动，会员专享价", ""),
    ("新品首发，点链接购买", ""),
    ("这款卖得特别好，欢迎下单", ""),
    ("Big discount on winter coats, shop now", ""),
    ("团购接龙开始了，要的接龙", ""),
]
SERVICE = [
    ("您好，您的快递已经发出，单号是SF1234567890", ""),
    ("已为您办理退款，1-3个工作日到账", ""),
    ("不好意思让您久等了，这边帮您查一下物流", ""),
    ("您的订单已发货，请注意查收", ""),
    ("收货地址已经帮您改好了", ""),
    ("抱歉给您带来不便，马上给您补发", ""),
    ("使用方法：早晚各一次，洁面后涂抹", ""),
    ("您反馈的问题已处理，换货已安排", ""),
    ("快递显示已签收，您看一下", ""),
    ("发票已经开好了，发到您邮箱", ""),
    ("售后这边已经登记了，会尽快联系您", ""),
    ("稍等，我帮您问一下仓库", ""),
    ("物流有点延迟，已经催快递了", ""),
    ("保修期一年，有问题随时找我们", ""),
    ("您好，退货地址发您了", ""),
    ("已经帮您备注了加急发货", ""),
    ("说明书在包装盒里，有不懂的可以问我", ""),
    ("派送员明天上午送到", ""),
    ("这边已经为您申请了换货", ""),
    ("您的维修已完成，今天寄回", ""),
    ("Your order has shipped, here is the tracking number", ""),
    ("Sorry for the delay, a replacement is on its way", ""),
    ("Your refund has been issued, it should arrive in 3 days", ""),
    ("运单号：YT8888888，可以在小程序查", ""),
    ("已经给您安排重新发货了", ""),
    ("您好，收到您的反馈了，正在处理", ""),
    ("这边看到订单了，今天下午发出", ""),
    ("已为您修改了规格，按新的发", ""),
    ("快递单号已经发您了，注意查收", ""),
    ("您好，您的问题已经解决了吗", "?"),
    ("退款已经处理好了，请查收", ""),
    ("客服这边24小时在线，有事随时说", ""),
    ("您好，订单已确认，明天发货", ""),
    ("这边帮您查了，包裹在转运中心", ""),
    ("补发的配件已经寄出", ""),
    ("售后政策：七天无理由退货，质量问题包退换", ""),
    ("给您安排了顺丰，明天能到", ""),
    ("已处理，给您加了一个赠品表示歉意", ""),
    ("收到了吗？有问题随时联系", "?"),
    ("订单号发我一下，我帮您查", ""),
]
HARD_NEG = [  # tricky non-signals: praise, negated complaints, guarantees, rhetorical words
    ("收到了，质量很好，没有色差，很满意", ""),
    ("放心，我们绝对不卖假货", ""),
    ("正品保证，假一赔十", ""),
    ("支持七天无理由退货", ""),
    ("实物和图片一模一样，好评", ""),
    ("一点也不后悔，下次还买", ""),
    ("没什么问题，挺好的", ""),
    ("物流很快，包装完好", ""),
    ("谢谢老板，东西很好", ""),
    ("不是假货，专柜验过了", ""),
    ("Great quality, exactly as described", ""),
    ("Arrived quickly, no complaints at all", ""),
    ("好的，收到", ""),
    ("嗯嗯，知道了", ""),
    ("哈哈哈太可爱了", ""),
    ("我先考虑一下", ""),
    ("已经用了一个月了，效果不错", ""),
    ("给朋友也推荐了", ""),
    ("衣服很合身，颜色也正", ""),
    ("什么都好，就是快递慢了一点点", ""),
    ("不知道为什么，就是很喜欢这个味道", ""),
    ("东西不错，物美价廉", ""),
    ("回购第三次了", ""),
    ("包装很用心，还送了小礼物", ""),
    ("昨天到的，今天就用上了", ""),
    ("谢谢你上次的建议，很有用", ""),
    ("OK，没问题", ""),
    ("收到啦，小朋友很喜欢", ""),
    ("比想象的还好", ""),
    ("质量不差，价格也合适", ""),
]

PREFIX = ["", "", "", "亲，", "老板，", "姐，", "宝子们，", "Hi，", "哈喽，", "各位，", "亲爱的，", "嗨，"]
SUFFIX = ["", "", "", "😊", "🙏", "😭", "～", "！", "!!", "哈", "👍", " thx", " ok", "😂", "🌹"]

# source class -> (core list, evaluates intent, intent label)
CLASSES = {
    "complaint": (COMPLAINT, None),
    "not_as_described": (NAD, None),
    "sales_pressure": (PRESSURE, "promotion"),
    "quota_plea": (QUOTA, "quota_plea"),
    "question": (QUESTION, None),
    "care": (CARE, "care"),
    "value": (VALUE, "value"),
    "promotion": (PROMOTION, "promotion"),
    "service": (SERVICE, "service"),
    "hard_negative": (HARD_NEG, None),
}
PER_CLASS = 320

# ---------------------------------------------------------------------------------------------
# BLIND set: cores written AFTER the lexicons were tuned on the set above, and never used for
# tuning. Its numbers estimate how the detectors generalise to phrasings they were not fitted to.
BLIND = {
    "complaint": ([
        ("拉链拉两下就卡住了，真是服了", "c"),
        ("到手发现屏幕有一条划痕", "c"),
        ("三天了物流一直不动，也没人解释", "c"),
        ("味道特别冲，根本没法穿", "c"),
        ("电池一天要充三次，太不耐用了", "c"),
        ("问了好几遍都不回，这服务真是绝了", "c"),
        ("我不想要了，钱退给我", "c"),
        ("桌子腿是歪的，放不平", "c"),
        ("What a waste of money, it stopped working after a week", "c"),
        ("盒子里的蛋碎了三个", "c"),
        ("洗完缩水缩了一大截", "c"),
        ("客服态度恶劣，还挂我电话", "c"),
    ], None),
    "not_as_described": ([
        ("页面写的是真皮，到手一股塑料味，明显是PU", "cn"),
        ("图上是深绿色，寄来的是墨绿偏黑，色差太严重", "cn"),
        ("我拍的是礼盒装，收到就一个塑料袋，货不对版", "cn"),
        ("说是新鲜现摘，收到的都蔫了，跟描述一点都不符", "cn"),
        ("标的500ml，实际只有300多", "cn"),
        ("跟主播直播间展示的根本不是一个东西", "cn"),
        ("The jacket looks nothing like the photos, totally misleading", "cn"),
        ("视频里是带盖子的，实物没有盖子", "cn"),
        ("发来的是二手的，根本不是新品", "cn"),
        ("说是进口原装，包装上全是中文，假的吧", "cn"),
        ("尺寸和页面写的差了5厘米", "cn"),
        ("图片和实物完全两回事", "cn"),
    ], None),
    "sales_pressure": ([
        ("今晚零点价格就回去了，想要的别等了", "p"),
        ("这一波过后就没这个价了", "p"),
        ("库存就剩个位数了", "p"),
        ("最后12小时，冲冲冲", "p"),
        ("活动马上结束，抓紧上车", "p"),
        ("Only a few hours left, grab it before it's gone", "p"),
        ("今天不拍明天就要贵30了", "p"),
        ("厂家只给了这么点货，卖完就没了", "p"),
        ("还有最后一波库存，先拍先发", "p"),
        ("名额只剩3个，要的赶紧", "p"),
        ("截止今天晚上8点，过时不候", "p"),
        ("价格随时调整，现在下单最划算", "p"),
    ], "promotion"),
    "quota_plea": ([
        ("这个月考核快不达标了，姐妹们帮帮我", "q"),
        ("老板给我定的任务还差一点点，求大家帮忙下个单", "q"),
        ("就剩两单我就能完成本月目标了", "q"),
        ("拜托大家，今天要是不出单我就惨了", "q"),
        ("谁能帮我开个张，今天零单", "q"),
        ("I need two more sales to make my monthly target, please help", "q"),
        ("冲个月度业绩，随便买个小东西也行", "q"),
        ("今天销售额还差一千，大家帮我凑凑", "q"),
        ("差一点就能拿提成了，帮我买一单吧", "q"),
        ("本周指标还没完成，支持一下我的小店", "q"),
        ("团队PK输了要受罚，求大家帮我冲一冲", "q"),
        ("就当帮我一个忙，拍一单就行", "q"),
    ], "quota_plea"),
    "question": ([
        ("这个能用多久", "?"),
        ("发货地是哪里", "?"),
        ("有优惠券可以用吗", "?"),
        ("适合几岁的孩子", "?"),
        ("会掉毛么", "?"),
        ("你们支持货到付款不", "?"),
        ("Is this dishwasher safe?", "?"),
        ("What size should I get if I'm 170cm", "?"),
        ("昨天下的单今天能发出来不", "?"),
        ("这个和官网的一样吗", "?"),
        ("买两件能便宜吗", "?"),
        ("包装里有说明书没", "?"),
    ], None),
    "care": ([
        ("今天降温十度，出门多加件外套", ""),
        ("宝宝第一天上幼儿园还适应吗", "?"),
        ("看到你们那边下暴雨了，家里都还好吧", "?"),
        ("祝叔叔早日康复", ""),
        ("国庆快乐，出去玩注意安全", ""),
        ("最近流感多，家里老人小孩多注意", ""),
        ("Merry Christmas to you and your family", ""),
        ("听说你最近在备考，别太拼了", ""),
        ("好久没见你发朋友圈了，一切都好吗", "?"),
        ("祝你和先生结婚纪念日快乐", ""),
        ("周一了，新的一周顺顺利利", ""),
        ("天气热，多吃点水果补充水分", ""),
    ], "care"),
    "value": ([
        ("很多人不知道，羊绒衫最好平铺晾干", ""),
        ("选蜂蜜看这三点：浓度、气味、结晶", ""),
        ("做了个对比测试，三款防晒的防水效果都放在图里了", ""),
        ("衣服上的圆珠笔印，用酒精擦一下就掉", ""),
        ("Did you know: cast iron pans should never soak in water", ""),
        ("新手化妆的顺序：隔离、粉底、遮瑕、定妆", ""),
        ("给大家讲讲为什么有的茶越泡越苦", ""),
        ("冰箱冷藏和冷冻分别能放多久，做了张表", ""),
        ("婴儿洗澡水温37度左右最合适", ""),
        ("实木家具怎么看：看截面纹理和重量", ""),
        ("行李箱收纳：卷起来比叠起来省空间", ""),
        ("真假羊毛一烧就知道，有烧头发的味道的是真的", ""),
    ], "value"),
    "promotion": ([
        ("刚到一批新疆阿克苏苹果，甜度很高", ""),
        ("店里秋装全面上架，欢迎来挑", ""),
        ("这款精华我们家卖了三年了，老客户都在回购", ""),
        ("满两件打八折，可以和朋友一起拼", ""),
        ("Just launched: our handmade candles, 15% off for friends", ""),
        ("年货礼盒开始接受预订了", ""),
        ("新出的口味，有兴趣可以尝尝，128一盒", ""),
        ("给老客户准备了专属折扣", ""),
        ("推荐这款四件套，纯棉的，199一套", ""),
        ("店里新进了几款儿童绘本", ""),
        ("本周特惠：洗衣液两瓶装59", ""),
        ("新店开业，进店有礼", ""),
    ], "promotion"),
    "service": ([
        ("包裹已经到您小区驿站了，取件码发您了", ""),
        ("您的退款申请我们这边同意了", ""),
        ("缺的那个零件今天给您单独寄", ""),
        ("麻烦您拍一下破损的照片，我们给您处理", ""),
        ("Your parcel is out for delivery today", ""),
        ("已经联系快递改派了，明天送到", ""),
        ("发票抬头改好了，重新给您开", ""),
        ("这边核实了，确实是我们发错了，马上给您换", ""),
        ("安装视频发您了，跟着做就行", ""),
        ("您的会员积分已经补上了", ""),
        ("上门取件已预约，明天上午", ""),
        ("保修卡在盒子侧面，凭订单也可以保修", ""),
    ], "service"),
    "hard_negative": ([
        ("用了一个月，没出现任何质量问题", ""),
        ("我本来担心是假货，验了是正品，放心了", ""),
        ("颜色比图片还好看", ""),
        ("原来以为会有色差，结果一模一样", ""),
        ("快递小哥很负责，送上楼了", ""),
        ("不用退了，我自己修好了", ""),
        ("价格不贵，东西也不差", ""),
        ("支持国货，越来越好", ""),
        ("No issues at all, works perfectly", ""),
        ("先收藏了，过几天再买", ""),
        ("昨天那个问题我自己搞明白了", ""),
        ("第一次买就很惊喜", ""),
    ], None),
}
PER_CLASS_BLIND = 100


def fullwidth(s):
    out = []
    for ch in s:
        o = ord(ch)
        if 0x21 <= o <= 0x7E:
            out.append(chr(o + 0xFEE0))
        elif ch == " ":
            out.append("\u3000")
        else:
            out.append(ch)
    return "".join(out)


def compose(classes, per_class, seed):
    rng = random.Random(seed)
    rows = []
    for cls, (cores, intent) in classes.items():
        seen = set()
        n = per_class if cls != "hard_negative" else min(per_class, 300)
        tries = 0
        while len([r for r in rows if r["class"] == cls]) < n and tries < 100000:
            tries += 1
            core, flags = rng.choice(cores)
            pre = rng.choice(PREFIX)
            suf = rng.choice(SUFFIX)
            # Keep the '?' of a core at the end if the suffix would follow it.
            text = pre + core + suf
            style = rng.random()
            form = "simplified"
            if style < 0.25:
                form = "traditional"
            elif style < 0.32:
                form = "fullwidth"
            key = (text, form)
            if key in seen:
                continue
            seen.add(key)
            rows.append({
                "text": text, "form": form, "class": cls,
                "complaint": "c" in flags, "not_as_described": "n" in flags,
                "sales_pressure": "p" in flags, "quota_plea": "q" in flags,
                "question": "?" in flags, "intent": intent,
            })
    return rows


def write(rows, name):
    trad = [r for r in rows if r["form"] == "traditional"]
    out = subprocess.run([S2T], input="\n".join(r["text"] for r in trad) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    for r, t in zip(trad, out):
        r["text"] = t
    for r in rows:
        if r["form"] == "fullwidth":
            r["text"] = fullwidth(r["text"])
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"_comment": "Written by the TrustLedger project (crates/text/tests/data/generate.py): hand-written, hand-labelled messages for detector evaluation. Not real customer data."}, ensure_ascii=False) + "\n")
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} messages to {path}")


def main():
    write(compose(CLASSES, PER_CLASS, 20240601), "messages.jsonl")
    write(compose(BLIND, PER_CLASS_BLIND, 20240602), "messages_blind.jsonl")


if __name__ == "__main__":
    main()
