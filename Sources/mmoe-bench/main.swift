print("mmoe-bench")
