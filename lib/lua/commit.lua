return {"placeholder"}
