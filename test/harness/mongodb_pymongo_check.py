"""A second, independent client for the MongoDB test server (test/harness/mongodb/server.ts).

Usage: python3 test/harness/mongodb_pymongo_check.py mongodb://127.0.0.1:<port>

Runs with Debian's pymongo (python3-pymongo, 3.11) and nothing else, exercises the same operations
as the Node driver test, and prints one JSON object with what it observed. test/harness/mongodb.test.ts
runs it and compares that JSON exactly. The results are a test server's, not MongoDB's.
"""
import datetime
import json
import sys

import bson
import pymongo
from bson.int64 import Int64
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

url = sys.argv[1]
client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)
db = client["pycheck"]
coll = db["people"]
out = {"pymongo": pymongo.version}

out["ping"] = client.admin.command("ping")["ok"]
out["maxWireVersion"] = client.admin.command("ismaster")["maxWireVersion"]

out["create_index"] = coll.create_index([("email", pymongo.ASCENDING)], unique=True)
out["create_index_compound"] = coll.create_index([("team", 1), ("age", -1)])

first = coll.insert_one({"email": "ada@example.com", "name": "Ada", "age": 36, "team": "a"})
out["inserted_id_type"] = type(first.inserted_id).__name__

try:
    coll.insert_one({"email": "ada@example.com", "name": "Imposter"})
    out["duplicate"] = "not refused"
except DuplicateKeyError as e:
    out["duplicate"] = {
        "code": e.code,
        "keyPattern": e.details.get("keyPattern"),
        "keyValue": e.details.get("keyValue"),
        "errmsg": e.details.get("errmsg"),
    }

many = coll.insert_many([
    {"email": "grace@example.com", "name": "Grace", "age": 45, "team": "b"},
    {"email": "linus@example.com", "name": "Linus", "age": 28, "team": "a"},
    {"email": "barbara@example.com", "name": "Barbara", "age": 52, "team": "b", "big": Int64(2 ** 62 + 7)},
    {"email": "unicode@example.com", "name": "Zoë 🌍 中文", "age": 31, "team": "c",
     "at": datetime.datetime(2026, 12, 3, 11, 0, 0, 123000)},
])
out["insert_many"] = len(many.inserted_ids)

try:
    coll.insert_many([{"email": "x1@example.com"}, {"email": "grace@example.com"}, {"email": "x2@example.com"}],
                     ordered=False)
    out["bulk_duplicate"] = "not refused"
except BulkWriteError as e:
    out["bulk_duplicate"] = {
        "nInserted": e.details["nInserted"],
        "errors": [[w["index"], w["code"], w["keyValue"]] for w in e.details["writeErrors"]],
    }

out["find_sorted"] = [d["name"] for d in coll.find({"age": {"$gte": 30}}, {"_id": 0, "name": 1}).sort("age", -1).limit(3)]
out["find_projection"] = coll.find_one({"name": "Linus"}, {"_id": 0, "email": 1, "team": 1})
out["find_in"] = sorted(d["name"] for d in coll.find({"team": {"$in": ["a", "c"]}, "age": {"$exists": True}}))
big = coll.find_one({"name": "Barbara"})["big"]
out["big"] = [type(big).__name__, str(big)]
at = coll.find_one({"team": "c"})
out["unicode"] = at["name"]
out["date"] = at["at"].isoformat()
# batch_size(2): the 7 documents arrive over one find and three getMore round trips
out["find_batch_size_2"] = len(list(coll.find({}).batch_size(2)))

out["aggregate"] = list(coll.aggregate([
    {"$match": {"age": {"$exists": True}}},
    {"$group": {"_id": "$team", "oldest": {"$max": "$age"}, "n": {"$sum": 1}, "names": {"$push": "$name"}}},
    {"$sort": {"_id": 1}},
    {"$limit": 2},
]))
out["count_documents"] = coll.count_documents({"team": "b"})
out["distinct"] = sorted(coll.distinct("team"))

upd = coll.update_one({"name": "Linus"}, {"$set": {"team": "c"}, "$inc": {"age": 1}})
out["update_one"] = [upd.matched_count, upd.modified_count]
ups = coll.update_one({"email": "new@example.com"}, {"$set": {"name": "New"}}, upsert=True)
out["upsert"] = [ups.matched_count, ups.upserted_id is not None]

out["delete_many"] = coll.delete_many({"age": {"$lt": 40}}).deleted_count
out["remaining"] = coll.count_documents({})

out["indexes"] = sorted((i["name"], bool(i.get("unique", False))) for i in coll.list_indexes())

try:
    list(coll.find({"$where": "this.age > 1"}))
    out["where"] = "not refused"
except OperationFailure as e:
    out["where"] = [e.code, str(e.details.get("errmsg"))]

try:
    db.command("noSuchCommand")
    out["unknown_command"] = "not refused"
except OperationFailure as e:
    out["unknown_command"] = [e.code, e.details.get("codeName")]

# The MongoDB persister's session pipelines (listApps markers, prune bounds, partition keys).
sessions = db["sessions"]
sessions.insert_many([
    {"pk": "p", "app": "x", "seq": 0, "at": "t1"}, {"pk": "p", "app": "x", "seq": 1, "at": "t3"},
    {"pk": "p", "app": "y", "seq": 0, "at": "t2"}, {"pk": None, "app": "z", "seq": 0, "at": "t0"},
    {"pk": "\uff01", "app": "w", "seq": 0, "at": "t5"}, {"pk": "\U0001F600", "app": "v", "seq": 0, "at": "t6"},
])


def markers(snapshot):
    return list(sessions.aggregate([
        {"$match": {"pk": "p"}},
        {"$sort": {"app": -1, "seq": -1}},
        {"$group": {"_id": "$app", "top": {"$first": "$seq"},
                    "marker": {"$max": {"$cond": [{"$lte": ["$at", snapshot]}, "$at", None]}}}},
        {"$sort": {"_id": 1}},
    ]))


out["session_markers"] = markers({"$literal": "t2"})
out["session_markers_literal"] = markers({"$literal": "$at"})
out["session_bounds"] = list(sessions.aggregate([
    {"$sort": {"pk": -1, "app": -1, "seq": -1}},
    {"$group": {"_id": {"p": "$pk", "a": "$app"}, "ids": {"$push": "$seq"}}},
    {"$project": {"second": {"$arrayElemAt": ["$ids", 1]}}},
    {"$match": {"second": {"$exists": True}}},
    {"$group": {"_id": None, "apps": {"$push": "$$ROOT"}}},
]))
out["session_null_id"] = list(sessions.aggregate([{"$match": {"app": "z"}}, {"$group": {"_id": {"p": "$pk", "a": "$app"}}}]))
out["session_keys"] = [d["_id"] for d in sessions.aggregate([{"$group": {"_id": "$pk"}}, {"$sort": {"_id": 1}}])]
out["session_keys_after"] = [d["_id"] for d in sessions.aggregate([
    {"$match": {"pk": {"$gt": "p"}}}, {"$group": {"_id": "$pk"}}, {"$sort": {"_id": 1}}])]
sessions.create_index([("expire_at", pymongo.ASCENDING)], expireAfterSeconds=0, name="expire_at_1")
ttl = [i for i in sessions.list_indexes() if i["name"] == "expire_at_1"][0]
out["ttl_index"] = {"key": dict(ttl["key"]), "expireAfterSeconds": ttl["expireAfterSeconds"]}
# The persister's follows index: partial unique on $exists: true (documents without the field
# are outside it, any number of them; a null value is inside, so two of them conflict).
out["partial_index"] = {"name": sessions.create_index(
    [("pk", 1), ("app", 1), ("follows", 1)], unique=True, name="pk_1_app_1_follows_1",
    partialFilterExpression={"follows": {"$exists": True}})}
partial = [i for i in sessions.list_indexes() if i["name"] == "pk_1_app_1_follows_1"][0]
out["partial_index"]["listed"] = {"key": dict(partial["key"]), "unique": partial["unique"], "partialFilterExpression": partial["partialFilterExpression"]}
sessions.delete_many({})
sessions.insert_many([{"pk": "p", "app": "x"}, {"pk": "p", "app": "x"}, {"pk": "p", "app": "x", "follows": None}, {"pk": "p", "app": "x", "follows": 3}])
duplicates = []
for extra in [{"follows": None}, {"follows": 3}, {}]:
    try:
        sessions.insert_one(dict({"pk": "p", "app": "x"}, **extra))
    except DuplicateKeyError as e:
        duplicates.append([e.code, e.details["keyValue"]])
out["partial_index"]["duplicates"] = duplicates
out["partial_index"]["count"] = sessions.count_documents({"pk": "p", "app": "x"})
sessions.drop()

coll.drop()
out["after_drop"] = "people" in db.list_collection_names()
client.close()
print(json.dumps(out, sort_keys=True, default=str))
